//! [`EngineSpec`] → runtime objects: the only place engine options are built.

use std::sync::Arc;

use gradekit_judge::{ApiKey, ClientConfig, LazyOpenAiClient, DEFAULT_BASE_URL};
use gradekit_model::ConfigErrorKind;
use gradekit_python::{PythonOptions, PythonRuntime};

use super::spec::{EngineSpec, OptionError, MAX_JUDGE_CONCURRENCY};
use super::EngineOptions;

fn failed(option: &str, message: String) -> OptionError {
    OptionError::new(option, ConfigErrorKind::InvalidValue, message)
}

/// A non-blank environment variable.
fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|s| !s.trim().is_empty())
}

impl EngineSpec {
    /// The python runtime's options; read paths are resolved (they must exist).
    pub fn python_options(&self) -> Result<PythonOptions, OptionError> {
        let extra_read_paths = self
            .python_read_path
            .iter()
            .map(|p| {
                std::fs::canonicalize(p)
                    .map_err(|e| failed("python_read_path", format!("{}: {e}", p.display())))
            })
            .collect::<Result<_, _>>()?;
        Ok(PythonOptions {
            mode: self.python_mode,
            timeout: self.python_timeout,
            memory_mib: self.python_memory,
            workers: self.python_workers,
            python: self.python_executable.clone(),
            extra_read_paths,
            idle_timeout: self.python_idle_timeout,
            scratch_mib: self.python_scratch,
            ..PythonOptions::default()
        })
    }

    /// The judge client's configuration: the options, then the environment
    /// (`OPENAI_BASE_URL`, the key variable), then the defaults. Creates the cache directory.
    pub fn client_config(&self) -> Result<ClientConfig, OptionError> {
        let mut cfg = ClientConfig::default();
        let (base_url, from_env) = match &self.judge_base_url {
            Some(url) => (url.clone(), false),
            None => match env("OPENAI_BASE_URL") {
                Some(url) => (url, true),
                None => (DEFAULT_BASE_URL.to_string(), false),
            },
        };
        cfg.base_url = base_url;
        cfg.api_key = match &self.judge_api_key {
            Some(key) => Some(key.clone()),
            None => match env(&self.judge_api_key_env) {
                Some(key) => Some(ApiKey::new(key)),
                // The default variable may be unset (local judges need no key); a variable
                // named on purpose must not be.
                None if self.judge_api_key_env != EngineSpec::default().judge_api_key_env => {
                    return Err(failed(
                        "judge_api_key_env",
                        format!("names ${}, which is not set", self.judge_api_key_env),
                    ))
                }
                None => None,
            },
        };
        cfg.timeout = self.judge_timeout;
        cfg.retry.max_retries = self.judge_retries;
        cfg.concurrency = self.judge_concurrency.min(MAX_JUDGE_CONCURRENCY);
        cfg.response_format = self.judge_response_format;
        cfg.token_cap = self.judge_token_cap_field;
        if let Some(dir) = &self.judge_cache {
            std::fs::create_dir_all(dir).map_err(|e| {
                failed(
                    "judge_cache",
                    format!("{}: cannot create the directory: {e}", dir.display()),
                )
            })?;
            cfg.cache_dir = Some(dir.clone());
        }
        cfg.validate().map_err(|e| {
            let source = if from_env {
                " (from $OPENAI_BASE_URL)"
            } else {
                ""
            };
            failed(
                "judge_base_url",
                format!("is not usable{source}: {}", e.details),
            )
        })?;
        Ok(cfg)
    }

    /// The engine options this spec describes: a python runtime and a judge client that
    /// connects on its first call only (graders that never call one start nothing).
    ///
    /// `python_max_workers` is process-wide: building a spec that sets it changes the budget
    /// of every grader in the process.
    pub fn build(&self) -> Result<EngineOptions, OptionError> {
        let python = PythonRuntime::new(self.python_options()?);
        let cfg = self.client_config()?;
        if let Some(n) = self.python_max_workers {
            gradekit_python::set_max_workers(Some(n));
        }
        let judge =
            Arc::new(LazyOpenAiClient::new(cfg).map_err(|e| failed("judge_base_url", e.details))?);
        Ok(EngineOptions {
            python,
            judge: Some(judge.clone()),
            embedder: Some(judge),
            embedding_model: Some(self.judge_embedding_model.clone()),
            judge_concurrency: self.judge_concurrency.min(MAX_JUDGE_CONCURRENCY),
            max_field_bytes: self.max_field_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::options::OptionValue;
    use gradekit_judge::{ResponseFormatMode, TokenCapField};
    use std::time::Duration;

    #[test]
    fn build_carries_every_judge_option_into_the_client() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let mut s = EngineSpec::default();
        for (k, v) in [
            ("judge_base_url", "http://127.0.0.1:9/v1"),
            ("judge_api_key", "sk-x"),
            ("judge_timeout", "1.5"),
            ("judge_retries", "0"),
            ("judge_concurrency", "4000"),
            ("judge_response_format", "json_object"),
            ("judge_token_cap_field", "both"),
            ("judge_cache", cache.to_str().unwrap()),
        ] {
            s.set(k, OptionValue::Text(v.into())).unwrap();
        }
        let cfg = s.client_config().unwrap();
        assert_eq!(cfg.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(cfg.api_key, Some(ApiKey::new("sk-x")));
        assert_eq!(cfg.timeout, Duration::from_millis(1500));
        assert_eq!(cfg.retry.max_retries, 0);
        assert_eq!(cfg.concurrency, MAX_JUDGE_CONCURRENCY);
        assert_eq!(cfg.response_format, ResponseFormatMode::JsonObject);
        assert_eq!(cfg.token_cap, TokenCapField::Both);
        assert!(cache.is_dir());
        let opts = s.build().unwrap();
        assert_eq!(opts.judge_concurrency, MAX_JUDGE_CONCURRENCY);
    }

    #[test]
    fn build_carries_every_python_option_into_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = EngineSpec::default();
        for (k, v) in [
            ("python_mode", "process"),
            ("python_timeout", "7"),
            ("python_memory", "512"),
            ("python_workers", "3"),
            ("python_executable", "/usr/bin/python3"),
            ("python_read_path", dir.path().to_str().unwrap()),
            ("python_idle_timeout", "5"),
            ("python_scratch", "0"),
            ("max_field_bytes", "100"),
        ] {
            s.set(k, OptionValue::Text(v.into())).unwrap();
        }
        let opts = s.build().unwrap();
        let py = opts.python.options();
        assert_eq!(py.mode, gradekit_python::PythonMode::Process);
        assert_eq!(py.timeout, Duration::from_secs(7));
        assert_eq!(py.memory_mib, 512);
        assert_eq!(py.workers, Some(3));
        assert_eq!(
            py.python.as_deref(),
            Some(std::path::Path::new("/usr/bin/python3"))
        );
        assert_eq!(py.extra_read_paths, [dir.path().canonicalize().unwrap()]);
        assert_eq!(py.idle_timeout, Duration::from_secs(5));
        assert_eq!(py.scratch_mib, 0);
        assert_eq!(opts.field_limit(), 100);
    }

    #[test]
    fn build_errors_name_their_option() {
        let mut s = EngineSpec::default();
        s.set("python_read_path", OptionValue::Text("/no/such/dir".into()))
            .unwrap();
        let e = s.build().unwrap_err();
        assert_eq!(e.option, "python_read_path");
        assert!(e.message.contains("/no/such/dir"), "{e}");

        let mut s = EngineSpec::default();
        s.set(
            "judge_api_key_env",
            OptionValue::Text("GRADEKIT_TEST_SURELY_UNSET_KEY".into()),
        )
        .unwrap();
        let e = s.build().unwrap_err();
        assert_eq!(e.option, "judge_api_key_env");
        assert!(e.message.contains("GRADEKIT_TEST_SURELY_UNSET_KEY"), "{e}");
    }
}
