//! The OpenAI error envelope, for every failure the server answers.
//!
//! Clients (the official SDKs above all) read `{"error": {"message", "type", "param", "code"}}`
//! and raise by status code (400 → `BadRequestError`, 401 → `AuthenticationError`, …), so every
//! non-2xx answer — ours or one axum produces by itself — carries this shape (see
//! [`crate::guard::envelope_plain_errors`] for the catch-all).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gradekit_model::ConfigErrors;
use serde_json::json;

/// Most errors quoted in one message; the rest are counted.
const MAX_LISTED: usize = 20;

/// An error answered with the OpenAI envelope. Boxed: it travels in every handler's `Result`.
#[derive(Debug, Clone)]
pub struct ApiError(Box<ErrorBody>);

/// What an [`ApiError`] says.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    pub status: StatusCode,
    pub message: String,
    /// `type` of the envelope: `invalid_request_error`, `server_error`, `rate_limit_error`.
    pub kind: &'static str,
    /// The offending field, as a path into the request body (`grader.graders.a.operation`).
    pub param: Option<String>,
    /// A stable machine-readable code (`invalid_grader`, `invalid_json`, …) or `None`.
    pub code: Option<&'static str>,
    /// `retry-after` seconds (429).
    pub retry_after: Option<u64>,
    /// `allow` header (405).
    pub allow: Option<HeaderValue>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: Option<&'static str>, message: impl Into<String>) -> Self {
        let kind = match status.as_u16() {
            429 => "rate_limit_error",
            500..=599 => "server_error",
            _ => "invalid_request_error",
        };
        ApiError(Box::new(ErrorBody {
            status,
            message: message.into(),
            kind,
            param: None,
            code,
            retry_after: None,
            allow: None,
        }))
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, Some(code), message)
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        let p = param.into();
        self.param = (!p.is_empty()).then_some(p);
        self
    }

    /// A rejected grader or request body: 400, `param` = the first fault's path, the message
    /// lists every fault (`path: message`) in document order.
    pub fn config(code: &'static str, errs: &ConfigErrors) -> Self {
        let mut message = String::new();
        for (i, e) in errs.iter().take(MAX_LISTED).enumerate() {
            if i > 0 {
                message.push_str("; ");
            }
            message.push_str(&e.to_string());
        }
        if errs.0.len() > MAX_LISTED {
            message.push_str(&format!("; and {} more", errs.0.len() - MAX_LISTED));
        }
        if message.is_empty() {
            message.push_str("invalid request");
        }
        let param = errs.first().map(|e| e.path.clone()).unwrap_or_default();
        ApiError::bad_request(code, message).with_param(param)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("internal_error"),
            message,
        )
    }

    /// The JSON body of the envelope.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }
}

impl std::ops::Deref for ApiError {
    type Target = ErrorBody;
    fn deref(&self) -> &ErrorBody {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorBody {
        &mut self.0
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(allow) = self.0.allow.clone() {
            h.insert(header::ALLOW, allow);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradekit_model::ConfigError;

    #[test]
    fn config_errors_list_every_fault_and_point_at_the_first() {
        let errs = ConfigErrors(vec![
            ConfigError::new("grader.operation", "unknown operation \"equals\""),
            ConfigError::new("grader.input", "expected a string"),
        ]);
        let e = ApiError::config("invalid_grader", &errs);
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.param.as_deref(), Some("grader.operation"));
        assert_eq!(
            e.message,
            "grader.operation: unknown operation \"equals\"; grader.input: expected a string"
        );
        let b = e.body();
        assert_eq!(b["error"]["type"], "invalid_request_error");
        assert_eq!(b["error"]["code"], "invalid_grader");
    }

    #[test]
    fn root_path_is_a_null_param() {
        let errs = ConfigErrors(vec![ConfigError::new("", "expected an object")]);
        let e = ApiError::config("invalid_request", &errs);
        assert_eq!(e.body()["error"]["param"], serde_json::Value::Null);
    }
}
