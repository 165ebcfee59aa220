//! The dashboard's pages as pure functions of the store's rows: the job list, the job page
//! (summary, charts, checkpoints, events, grader) and the fragments the live updates swap in.
//! No I/O here, so every page is tested with hostile rows.

use super::html::{duration, esc, now, page, time};
use gradekit_jobs::store::{JobRow, Page};
use gradekit_jobs::timeline::SeqEvent;
use serde_json::Value;

/// Events per page of the job page.
pub(crate) const EVENTS_PER_PAGE: usize = 100;
/// Jobs per page of the list.
pub(crate) const JOBS_PER_PAGE: usize = 50;

/// `supervised`, `dpo` or `reinforcement`.
pub(crate) fn method_of(j: &JobRow) -> &str {
    j.method
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("supervised")
}

/// How long the job has run: to its end when finished, to now otherwise.
fn job_duration(j: &JobRow) -> String {
    let start = j.created_at;
    match j.finished_at {
        Some(f) => duration(f - start),
        None => format!("{} so far", duration(now() - start)),
    }
}

fn status_badge(j: &JobRow) -> String {
    let s = j.status.as_str();
    format!("<span class=\"status status-{s}\" data-status=\"{s}\">{s}</span>")
}

fn job_link(id: &str) -> String {
    format!("<a href=\"/jobs/{}\">{}</a>", esc(id), esc(id))
}

/// `GET /`: the project's jobs, newest first, with a link to the next page.
pub(crate) fn job_list(
    project: &str,
    signed_in: bool,
    jobs: &Page<JobRow>,
    after: Option<&str>,
) -> String {
    let mut b = String::from("<h1>Fine-tuning jobs</h1>");
    if jobs.data.is_empty() {
        b.push_str(if after.is_some() {
            "<p class=\"empty\" id=\"no-jobs\">No more jobs.</p>"
        } else {
            "<p class=\"empty\" id=\"no-jobs\">No fine-tuning jobs in this project yet. Create one with \
             <code>POST /v1/fine_tuning/jobs</code> (the OpenAI SDK's <code>client.fine_tuning.jobs.create</code>).</p>"
        });
    } else {
        b.push_str(
            "<table id=\"jobs\"><thead><tr><th>job</th><th>status</th><th>model</th><th>method</th>\
             <th>suffix</th><th>created (UTC)</th><th>duration</th><th>fine-tuned model</th></tr></thead><tbody>",
        );
        for j in &jobs.data {
            b.push_str(&format!(
                "<tr data-job=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&j.id),
                job_link(&j.id),
                status_badge(j),
                esc(&j.model),
                esc(method_of(j)),
                esc(j.suffix.as_deref().unwrap_or("")),
                time(j.created_at),
                job_duration(j),
                esc(j.fine_tuned_model.as_deref().unwrap_or("")),
            ));
        }
        b.push_str("</tbody></table>");
    }
    let mut nav = String::new();
    if after.is_some() {
        nav.push_str("<a href=\"/\">newest jobs</a>");
    }
    if jobs.has_more {
        if let Some(last) = jobs.data.last() {
            nav.push_str(&format!(
                "<a id=\"older-jobs\" href=\"/?after={}\">older jobs →</a>",
                esc(&last.id)
            ));
        }
    }
    if !nav.is_empty() {
        b.push_str(&format!("<nav class=\"pager\">{nav}</nav>"));
    }
    page("Jobs", Some(project), signed_in, &b)
}

fn row(label: &str, value_html: &str) -> String {
    format!("<tr><th>{}</th><td>{value_html}</td></tr>", esc(label))
}

fn json_pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The summary block (swapped in by live updates): status, model, method, times, result.
pub(crate) fn summary(j: &JobRow) -> String {
    let mut t = String::from("<table class=\"kv\">");
    t.push_str(&row("status", &status_badge(j)));
    t.push_str(&row("model", &esc(&j.model)));
    t.push_str(&row("method", &esc(method_of(j))));
    if let Some(s) = &j.suffix {
        t.push_str(&row("suffix", &esc(s)));
    }
    t.push_str(&row("created (UTC)", &time(j.created_at)));
    if let Some(f) = j.finished_at {
        t.push_str(&row("finished (UTC)", &time(f)));
    }
    t.push_str(&row("duration", &job_duration(j)));
    if let Some(e) = j.estimated_finish {
        t.push_str(&row("estimated finish (UTC)", &time(e)));
    }
    if let Some(total) = j.total_steps {
        t.push_str(&row("total steps", &total.to_string()));
    }
    if let Some(m) = &j.fine_tuned_model {
        t.push_str(&row(
            "fine-tuned model",
            &format!("<code>{}</code>", esc(m)),
        ));
    }
    if let Some(n) = j.trained_tokens {
        t.push_str(&row("trained tokens", &n.to_string()));
    }
    t.push_str(&row("training file", &esc(&j.training_file)));
    if let Some(v) = &j.validation_file {
        t.push_str(&row("validation file", &esc(v)));
    }
    t.push_str(&row("seed", &j.seed.to_string()));
    if let Some(e) = j.error.as_ref().filter(|e| !e.is_null()) {
        let field = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        t.push_str(&row(
            "error",
            &format!(
                "<span class=\"error\" id=\"job-error\"><b>{}</b>: {}{}</span>",
                esc(&field("code")),
                esc(&field("message")),
                match field("param") {
                    p if p.is_empty() => String::new(),
                    p => format!(" (param <code>{}</code>)", esc(&p)),
                }
            ),
        ));
    }
    t.push_str(&row(
        "hyperparameters",
        &format!("<code>{}</code>", esc(&j.hyperparameters.to_string())),
    ));
    if let Some(Value::Object(m)) = &j.metadata {
        let mut md = String::from("<table class=\"compact\" id=\"metadata\">");
        for (k, v) in m {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            md.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(&v)));
        }
        md.push_str("</table>");
        t.push_str(&row("metadata", &md));
    }
    t.push_str("</table>");
    t
}

/// One event as a table row (newest rows go on top).
pub(crate) fn event_row(e: &SeqEvent) -> String {
    let ev = &e.event;
    let level = match ev.level.as_str() {
        l @ ("info" | "warn" | "error") => l,
        _ => "info",
    };
    format!(
        "<tr class=\"event level-{level}\" data-seq=\"{}\" data-type=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"msg\">{}</td></tr>",
        e.seq,
        esc(&ev.kind),
        time(ev.created_at),
        esc(&ev.level),
        esc(&ev.kind),
        esc(&ev.message),
    )
}

/// Rows of events, newest first.
pub(crate) fn event_rows(events: &[SeqEvent]) -> String {
    events.iter().map(event_row).collect()
}

/// The grader of a reinforcement job: an outline (name, type and the fields that say what it
/// does, for each sub-grader of a multi grader) and the JSON as given. The outline is the typed
/// grader's (`Grader::outline`, an exhaustive match in the model); a grader that does not read
/// (it did when the job was created) shows only its JSON.
pub(crate) fn grader(j: &JobRow) -> Option<String> {
    let g = j.method.get("reinforcement")?.get("grader")?;
    let mut out = String::from("<div class=\"grader\">");
    if let Ok(typed) = gradekit_engine::model::Grader::from_value(g) {
        outline(&typed, &mut out);
    }
    out.push_str(&format!(
        "<details><summary>grader JSON</summary><pre id=\"grader-json\">{}</pre></details></div>",
        esc(&json_pretty(g))
    ));
    Some(out)
}

fn outline(g: &gradekit_engine::model::Grader, out: &mut String) {
    use gradekit_engine::model::Grader;
    out.push_str(&format!(
        "<div class=\"grader-node\"><b>{}</b> <span class=\"gtype\">{}</span>",
        esc(g.name().unwrap_or("")),
        esc(g.type_name())
    ));
    for f in g.outline() {
        if f.code {
            out.push_str(&format!("<pre class=\"source\">{}</pre>", esc(f.text)));
        } else if !f.text.is_empty() {
            out.push_str(&format!(
                "<div class=\"gfield\"><span>{}</span> <code>{}</code></div>",
                esc(f.label),
                esc(f.text)
            ));
        }
    }
    if let Grader::Multi(m) = g {
        for (key, sub) in &m.graders {
            out.push_str(&format!(
                "<div class=\"gsub\"><span class=\"gkey\">{}</span>",
                esc(key)
            ));
            outline(sub, out);
            out.push_str("</div>");
        }
    }
    out.push_str("</div>");
}

/// What the job page shows, gathered by the handler.
#[derive(Debug)]
pub(crate) struct JobView<'a> {
    pub(crate) job: &'a JobRow,
    pub(crate) events: &'a Page<SeqEvent>,
    /// The page's position: `None` = the newest events (live), else events before it.
    pub(crate) before: Option<i64>,
    /// Newest event position of the job (the live cursor).
    pub(crate) newest: i64,
    /// The charts and checkpoints section (see [`super::charts::render`]).
    pub(crate) charts_html: &'a str,
}

/// `GET /jobs/{id}`.
pub(crate) fn job_page(project: &str, signed_in: bool, v: &JobView<'_>) -> String {
    let j = v.job;
    let live = v.before.is_none() && !j.status.is_final();
    let mut b = format!(
        "<p class=\"crumbs\"><a href=\"/\">jobs</a> / {}</p><h1>{}</h1>",
        esc(&j.id),
        esc(&j.id)
    );
    b.push_str(&format!(
        "<div id=\"job\" data-job=\"{}\" data-live=\"{}\" data-after=\"{}\">",
        esc(&j.id),
        live,
        v.newest
    ));
    b.push_str(&format!(
        "<p class=\"live\" id=\"live-status\" data-updates=\"0\">{}</p>",
        if live {
            "live: updates as events arrive"
        } else if v.before.is_some() {
            "older events (not live)"
        } else {
            "finished"
        }
    ));
    b.push_str(&format!("<section id=\"summary\">{}</section>", summary(j)));
    b.push_str(&format!(
        "<h2>Metrics and checkpoints</h2><section id=\"charts\">{}</section>",
        v.charts_html
    ));
    b.push_str("<h2>Events</h2>");
    b.push_str(
        "<table id=\"events\"><thead><tr><th>time (UTC)</th><th>level</th><th>type</th><th>message</th></tr></thead><tbody>",
    );
    b.push_str(&event_rows(&v.events.data));
    b.push_str("</tbody></table>");
    let mut nav = String::new();
    if v.before.is_some() {
        nav.push_str(&format!(
            "<a href=\"/jobs/{}\">newest events</a>",
            esc(&j.id)
        ));
    }
    if v.events.has_more {
        if let Some(last) = v.events.data.last() {
            nav.push_str(&format!(
                "<a id=\"older-events\" href=\"/jobs/{}?before={}\">older events →</a>",
                esc(&j.id),
                last.seq
            ));
        }
    }
    b.push_str(&format!(
        "<nav class=\"pager\" id=\"events-pager\">{nav}</nav>"
    ));
    if let Some(g) = grader(j) {
        b.push_str(&format!(
            "<h2>Grader</h2><section id=\"grader\">{g}</section>"
        ));
    }
    b.push_str("</div>");
    page(&j.id, Some(project), signed_in, &b)
}

/// The login form; `failed` adds the refusal's message (never the key that was sent).
pub(crate) fn login_page(failed: Option<&str>) -> String {
    let mut b = String::from("<h1>Sign in</h1>");
    if let Some(m) = failed {
        b.push_str(&format!(
            "<p class=\"error\" id=\"login-error\">{}</p>",
            esc(m)
        ));
    }
    b.push_str(
        "<form method=\"post\" action=\"/login\" id=\"login\" class=\"login\">\
         <label for=\"key\">API key</label>\
         <input id=\"key\" name=\"key\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"meta\">The key is sent once, in this form's POST body. The server answers with a \
         session cookie (HttpOnly, SameSite=Strict) that holds a random session id, not the key; \
         the key is never stored in the page, in the URL or in the browser.</p>",
    );
    page("Sign in", None, false, &b)
}

/// A plain message page (not found, refused).
pub(crate) fn message_page(
    title: &str,
    message: &str,
    project: Option<&str>,
    signed_in: bool,
) -> String {
    page(
        title,
        project,
        signed_in,
        &format!(
            "<h1>{}</h1><p id=\"message\">{}</p><p><a href=\"/\">all jobs</a></p>",
            esc(title),
            esc(message)
        ),
    )
}
