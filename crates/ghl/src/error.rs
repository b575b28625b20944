//! One error type for every way a GHL call can fail, each variant saying what the caller can do.

use std::time::Duration;

use serde_json::Value;

/// Why a GHL call failed. Never carries a token: messages come from GHL's answer bodies, which
/// do not echo credentials.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum GhlError {
    /// 401 for a bad or expired token that a refresh could not cure.
    #[error("GHL refused the credentials: {message}")]
    Unauthorized { message: String },
    /// 401 because the token lacks a scope; reconnect with that scope granted.
    #[error("the connection lacks the scope {scope}; reconnect and grant it ({message})")]
    ScopeMissing { scope: String, message: String },
    /// 403: the token belongs to another location or company.
    #[error("GHL forbids this for the connection's location: {message}")]
    Forbidden { message: String },
    /// The record does not exist (GHL answers 400 "… not found").
    #[error("not found in GHL: {message}")]
    NotFound { message: String },
    /// 400/422 with GHL's validation messages; retrying the same request cannot help.
    #[error("GHL rejected the request ({status}): {}", messages.join("; "))]
    Validation { status: u16, messages: Vec<String> },
    /// The location refuses duplicate contacts and this one matches an existing contact.
    #[error("a contact with the same {matching_field} already exists ({contact_id})")]
    Duplicate {
        contact_id: String,
        matching_field: String,
    },
    /// Over the burst window or the daily budget.
    #[error("GHL rate limit reached; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration, daily: bool },
    /// 5xx, timeout, connection failure or an unreadable answer: retrying may succeed.
    #[error("GHL call failed transiently ({status:?}): {message}")]
    Transient {
        status: Option<u16>,
        message: String,
    },
    /// The refresh token is dead (rotated, revoked, app uninstalled): a person must reconnect.
    #[error("the GHL connection must be reconnected: {message}")]
    ReconnectNeeded { message: String },
    /// A create failed in a way that may or may not have created the record, and no lookup key
    /// (email, phone …) exists to tell; the caller must not blindly retry.
    #[error("the create may or may not have happened and cannot be checked: {message}")]
    OutcomeUnknown { message: String },
    /// New tokens were obtained but could not be saved; they are not used until they are.
    #[error("could not save refreshed GHL tokens: {message}")]
    TokenStore { message: String },
    /// Wrong configuration (bad URL, missing option).
    #[error("GHL client configuration: {0}")]
    Config(String),
}

impl GhlError {
    /// Whether the same request may succeed if sent again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. } | Self::RateLimited { .. })
    }

    /// Maps a non-2xx answer to an error, reading GHL's `{statusCode, message, error}` body.
    pub fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let messages: Vec<String> = match &json["message"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect(),
            _ => json["error_description"]
                .as_str()
                .or_else(|| json["error"].as_str())
                .map(|s| vec![s.to_string()])
                .unwrap_or_else(|| {
                    vec![String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()]
                }),
        };
        let message = messages.join("; ");
        match status {
            401 => match message.split("Missing scope:").nth(1) {
                Some(scope) => Self::ScopeMissing {
                    scope: scope.trim().to_string(),
                    message,
                },
                None => Self::Unauthorized { message },
            },
            403 => Self::Forbidden { message },
            429 => Self::RateLimited {
                retry_after: retry_after.unwrap_or(Duration::from_secs(10)),
                daily: false,
            },
            400 if json["error"] == "invalid_grant" => Self::ReconnectNeeded { message },
            400 if json["meta"]["contactId"].is_string() => Self::Duplicate {
                contact_id: json["meta"]["contactId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                matching_field: json["meta"]["matchingField"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            },
            400 if message.to_lowercase().contains("not found") => Self::NotFound { message },
            400 | 404 | 422 => Self::Validation { status, messages },
            s if s >= 500 => Self::Transient {
                status: Some(s),
                message,
            },
            _ => Self::Validation { status, messages },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_ghl_bodies() {
        let e = GhlError::from_response(401, br#"{"statusCode":401,"message":"The token is not authorized for this scope. Missing scope: contacts.write"}"#, None);
        assert_eq!(
            e,
            GhlError::ScopeMissing {
                scope: "contacts.write".into(),
                message:
                    "The token is not authorized for this scope. Missing scope: contacts.write"
                        .into()
            }
        );
        let e = GhlError::from_response(422, br#"{"statusCode":422,"message":["title should not be empty"],"error":"Unprocessable Entity"}"#, None);
        assert_eq!(
            e,
            GhlError::Validation {
                status: 422,
                messages: vec!["title should not be empty".into()]
            }
        );
        let e = GhlError::from_response(
            400,
            br#"{"error":"invalid_grant","error_description":"gone"}"#,
            None,
        );
        assert!(matches!(e, GhlError::ReconnectNeeded { .. }));
        let e = GhlError::from_response(
            400,
            br#"{"statusCode":400,"message":"Contact not found"}"#,
            None,
        );
        assert!(matches!(e, GhlError::NotFound { .. }));
        let e = GhlError::from_response(503, b"<html>", None);
        assert!(e.is_transient());
    }
}
