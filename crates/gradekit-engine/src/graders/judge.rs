//! What score_model, label_model and the `cosine` metric share: messages compiled into
//! templates once, rendered per sample into a `gradekit_judge::ChatRequest`; the judge client
//! (injected through [`EngineOptions`], else one process-wide client from `OPENAI_BASE_URL` /
//! `OPENAI_API_KEY` built on first use); and the mapping of judge errors onto error flags.
//!
//! Every text field of a message is a template (DESIGN.md §4): string content, `input_text` /
//! `output_text` text, an `input_image` URL and `input_audio` data. `detail` and `format` are
//! enumerations and are sent as written.

use std::sync::{Arc, OnceLock};

use super::{join, template, Field};
use crate::result::{Failure, Usage};
use crate::EngineOptions;
use gradekit_judge::{
    ChatMessage, ChatScorer, ClientConfig, ContentPart, Embedder, JudgeError, JudgeErrorKind,
    LazyOpenAiClient, MessageContent as JudgeContent, SamplingParams as JudgeSampling,
};
use gradekit_model::{
    ConfigErrors, ContentItem, Message, MessageContent, Num, SamplingParams, TokenUsage,
};
use gradekit_template::Scope;

/// Judge calls in flight when the options do not say (`--judge-concurrency`).
pub(crate) const DEFAULT_JUDGE_CONCURRENCY: usize = gradekit_judge::DEFAULT_CONCURRENCY;

/// The client used when no judge is injected: one per process, so its semaphore and connection
/// pool are shared by every grader, configured from the standard OpenAI environment variables.
fn default_client() -> Result<Arc<LazyOpenAiClient>, JudgeError> {
    static CLIENT: OnceLock<Result<Arc<LazyOpenAiClient>, JudgeError>> = OnceLock::new();
    CLIENT
        .get_or_init(|| LazyOpenAiClient::new(ClientConfig::from_env()).map(Arc::new))
        .clone()
}

/// The chat judge for a grader: the injected one, else the default client.
pub(crate) fn chat_judge(opts: &EngineOptions) -> Result<Arc<dyn ChatScorer>, JudgeError> {
    match &opts.judge {
        Some(j) => Ok(Arc::clone(j)),
        None => default_client().map(|c| c as Arc<dyn ChatScorer>),
    }
}

/// The embedder for `cosine`: the injected one, else the default client.
pub(crate) fn embedder(opts: &EngineOptions) -> Result<Arc<dyn Embedder>, JudgeError> {
    match &opts.embedder {
        Some(e) => Ok(Arc::clone(e)),
        None => default_client().map(|c| c as Arc<dyn Embedder>),
    }
}

/// A judge failure as an error flag.
pub(crate) fn failure(e: JudgeError) -> Failure {
    match e.kind {
        JudgeErrorKind::Refusal => Failure::ModelRefusal(e.details),
        JudgeErrorKind::Parse => Failure::ModelParse(e.details),
        JudgeErrorKind::MaxTokens => Failure::ModelMaxTokens(e.details),
        _ => Failure::ModelServer(e.details),
    }
}

/// Largest token count taken from one reply: real counts are far below it, and the cap keeps
/// sums over many calls from overflowing whatever a server claims.
const MAX_TOKENS_PER_CALL: u64 = 1 << 40;

/// Records a reply's usage under the model name the server answered with.
pub(crate) fn record(usage: &mut Usage, model: &str, u: &gradekit_judge::Usage) {
    let cap = |x: u64| x.min(MAX_TOKENS_PER_CALL);
    usage.record(
        model,
        &TokenUsage {
            prompt_tokens: cap(u.prompt_tokens),
            completion_tokens: cap(u.completion_tokens),
            total_tokens: cap(u.total_tokens),
            cached_tokens: cap(u.cached_tokens),
        },
    );
}

#[derive(Debug)]
enum Part {
    Text(Field),
    Image { url: Field, detail: Option<String> },
    Audio { data: Field, format: String },
}

#[derive(Debug)]
enum Content {
    Text(Field),
    Parts(Vec<Part>),
}

#[derive(Debug)]
struct CompiledMessage {
    role: &'static str,
    content: Content,
}

/// A model grader's `input` messages, parsed into templates.
#[derive(Debug)]
pub(crate) struct Messages(Vec<CompiledMessage>);

impl Messages {
    /// Parses every text field; template errors are pushed with their paths
    /// (`input[1].content[0].text`).
    pub(crate) fn compile(
        input: &[Message],
        path: &str,
        opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<Messages> {
        let mut out = Vec::with_capacity(input.len());
        let mut ok = true;
        for (i, m) in input.iter().enumerate() {
            let mpath = format!("{}[{i}]", join(path, "input"));
            let cpath = join(&mpath, "content");
            let content = match &m.content {
                MessageContent::Text(s) => template(s, cpath, opts, errs).map(Content::Text),
                MessageContent::Item(item) => {
                    compile_part(item, &cpath, opts, errs).map(|p| Content::Parts(vec![p]))
                }
                MessageContent::Items(items) => {
                    let parts: Vec<Option<Part>> = items
                        .iter()
                        .enumerate()
                        .map(|(j, item)| compile_part(item, &format!("{cpath}[{j}]"), opts, errs))
                        .collect();
                    parts
                        .into_iter()
                        .collect::<Option<Vec<_>>>()
                        .map(Content::Parts)
                }
            };
            match content {
                Some(content) => out.push(CompiledMessage {
                    role: m.role.as_str(),
                    content,
                }),
                None => ok = false,
            }
        }
        ok.then_some(Messages(out))
    }

    /// Every template field, in config order.
    pub(crate) fn fields(&self) -> Vec<&Field> {
        let mut out = Vec::new();
        for m in &self.0 {
            match &m.content {
                Content::Text(t) => out.push(t),
                Content::Parts(parts) => out.extend(parts.iter().map(|p| match p {
                    Part::Text(t) => t,
                    Part::Image { url, .. } => url,
                    Part::Audio { data, .. } => data,
                })),
            }
        }
        out
    }

    /// The messages rendered for one sample.
    pub(crate) fn render(&self, ctx: &dyn Scope) -> Result<Vec<ChatMessage>, Failure> {
        self.0
            .iter()
            .map(|m| {
                let content = match &m.content {
                    Content::Text(t) => JudgeContent::Text(t.render(ctx)?.into_owned()),
                    Content::Parts(parts) => JudgeContent::Parts(
                        parts
                            .iter()
                            .map(|p| render_part(p, ctx))
                            .collect::<Result<_, _>>()?,
                    ),
                };
                Ok(ChatMessage {
                    role: m.role.to_string(),
                    content,
                })
            })
            .collect()
    }
}

fn compile_part(
    item: &ContentItem,
    path: &str,
    opts: &EngineOptions,
    errs: &mut ConfigErrors,
) -> Option<Part> {
    match item {
        // A bare string in a content list is its own path (`content[2]`).
        ContentItem::PlainText(text) => {
            template(text, path.to_string(), opts, errs).map(Part::Text)
        }
        ContentItem::InputText { text, .. } | ContentItem::OutputText { text, .. } => {
            template(text, join(path, "text"), opts, errs).map(Part::Text)
        }
        ContentItem::InputImage {
            image_url, detail, ..
        } => template(image_url, join(path, "image_url"), opts, errs).map(|url| Part::Image {
            url,
            detail: detail.clone(),
        }),
        ContentItem::InputAudio { input_audio, .. } => template(
            &input_audio.data,
            join(&join(path, "input_audio"), "data"),
            opts,
            errs,
        )
        .map(|data| Part::Audio {
            data,
            format: input_audio.format.clone(),
        }),
    }
}

fn render_part(p: &Part, ctx: &dyn Scope) -> Result<ContentPart, Failure> {
    Ok(match p {
        Part::Text(t) => ContentPart::Text {
            text: t.render(ctx)?.into_owned(),
        },
        Part::Image { url, detail } => ContentPart::Image {
            url: url.render(ctx)?.into_owned(),
            detail: detail.clone(),
        },
        Part::Audio { data, format } => ContentPart::Audio {
            data: data.render(ctx)?.into_owned(),
            format: format.clone(),
        },
    })
}

/// The grader's `sampling_params` in the judge crate's terms.
pub(crate) fn sampling(p: Option<&SamplingParams>) -> JudgeSampling {
    let Some(p) = p else {
        return JudgeSampling::default();
    };
    JudgeSampling {
        max_completions_tokens: p.max_completions_tokens,
        reasoning_effort: p.reasoning_effort.map(|e| e.as_str().to_string()),
        seed: p.seed,
        temperature: p.temperature.as_ref().map(Num::get),
        top_p: p.top_p.as_ref().map(Num::get),
    }
}
