//! Azure HTTP: Resource Manager calls for Network Watcher packet captures, credentials, and
//! Blob Storage (downloads, and the delete `delete --delete-files` needs).
//!
//! This module owns every byte that goes to or comes from Azure: the request pipeline
//! (retries, bearer tokens, long-running operations), the REST models and ARM resource ids.
//! It knows nothing of packets or of the command line, and it never prints: errors carry what
//! a caller needs (HTTP status, ARM error code, message, request id) and never a token or a
//! URL's query string.

pub mod arm;
pub mod blob;
pub mod blob_delete;
pub mod credential;
mod http;
pub mod reach;
pub use http::{HttpOptions, Response};
pub mod packet_capture;
pub mod resource_id;
pub mod stream;
pub mod vm_addresses;

use std::fmt;

/// What went wrong talking to Azure; `Display` is one line, safe to print.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The service answered with an error status (after retries, for retryable ones).
    #[error("{0}")]
    Service(Box<ServiceError>),
    /// No token could be obtained.
    #[error("authentication failed: {0}")]
    Credential(String),
    /// The request did not get an answer: connection refused, reset, timed out.
    #[error("{0}")]
    Transport(String),
    /// The service answered 2xx with something that is not what the API promises.
    #[error("unexpected response from {what}: {detail}")]
    Malformed {
        /// The call, e.g. `GET packet capture`.
        what: String,
        /// What was wrong with it.
        detail: String,
    },
    /// A long-running operation ended as `Failed` or `Canceled`.
    #[error("{0}")]
    OperationFailed(Box<OperationError>),
    /// A long-running operation did not finish in time.
    #[error("{0}")]
    Timeout(String),
    /// The request was refused before sending (e.g. a bearer token over plain http).
    #[error("{0}")]
    Refused(String),
}

/// Broad classes of failure, for exit codes and retry advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 401/403 or no token.
    Auth,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 408/429/5xx after retries, network failures, timeouts: trying later may work.
    Transient,
    /// An operation reported `Failed`/`Canceled`.
    OperationFailed,
    /// Anything else (400, malformed responses, refused requests).
    Other,
}

impl Error {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Service(s) => match s.status {
                401 | 403 => ErrorClass::Auth,
                404 => ErrorClass::NotFound,
                409 => ErrorClass::Conflict,
                408 | 429 | 500..=599 => ErrorClass::Transient,
                _ => ErrorClass::Other,
            },
            Error::Credential(_) => ErrorClass::Auth,
            Error::Transport(_) | Error::Timeout(_) => ErrorClass::Transient,
            Error::OperationFailed(_) => ErrorClass::OperationFailed,
            Error::Malformed { .. } | Error::Refused(_) => ErrorClass::Other,
        }
    }

    /// The service error, when the service answered with one.
    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(s) => Some(s),
            _ => None,
        }
    }
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, Error>;

/// An ARM error response: `{"error": {"code", "message", "target", "details"}}`.
#[derive(Debug, Clone, Default)]
pub struct ServiceError {
    /// HTTP status.
    pub status: u16,
    /// `error.code`, when the body had one.
    pub code: Option<String>,
    /// `error.message`, or a short excerpt of a body that was not ARM JSON.
    pub message: String,
    /// `error.target`.
    pub target: Option<String>,
    /// `error.details[].code: message`, flattened.
    pub details: Vec<String>,
    /// `x-ms-request-id` (or the correlation id) for support requests.
    pub request_id: Option<String>,
    /// What the caller was doing, e.g. `GET packet capture 'pc1'`; set by the caller.
    pub context: Option<String>,
    /// Who was authenticated (from the token's claims, never the token) for 401/403.
    pub identity: Option<String>,
    /// For 404: which resource is missing, e.g. `resource group 'rg1'`; set by the caller.
    pub missing: Option<String>,
}

impl ServiceError {
    /// For 403 `AuthorizationFailed`: the action ARM names as missing, e.g.
    /// `Microsoft.Network/networkWatchers/packetCaptures/write`.
    pub fn missing_permission(&self) -> Option<&str> {
        let m = &self.message;
        let start = m.find("perform action '")? + "perform action '".len();
        let len = m[start..].find('\'')?;
        Some(&m[start..start + len])
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = &self.context {
            write!(f, "{c}: ")?;
        }
        let missing = self.missing.as_ref().map(|m| format!("{m} not found"));
        let what = match self.status {
            401 => "not authenticated",
            403 => "not authorized",
            404 => missing.as_deref().unwrap_or("not found"),
            409 => "conflict",
            429 => "throttled by Azure Resource Manager, still after retries",
            500..=599 => "Azure service error, still after retries",
            _ => "request rejected",
        };
        write!(f, "{what} (HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, ")")?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message.trim_end())?;
        }
        if !self.details.is_empty() {
            write!(f, " [{}]", self.details.join("; "))?;
        }
        if let Some(p) = self.missing_permission() {
            write!(f, "; missing permission: {p}")?;
        }
        if let Some(who) = &self.identity {
            write!(f, "; identity used: {who}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// A long-running operation that ended badly.
#[derive(Debug, Clone, Default)]
pub struct OperationError {
    /// What was running, e.g. `create packet capture 'pc1'`.
    pub operation: String,
    /// `Failed` or `Canceled` (or another terminal status the service invented).
    pub status: String,
    /// `error.code`.
    pub code: Option<String>,
    /// `error.message`.
    pub message: Option<String>,
    /// Request id of the poll that reported the outcome.
    pub request_id: Option<String>,
}

impl fmt::Display for OperationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: operation {}", self.operation, self.status)?;
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, ": {c}: {m}")?,
            (Some(c), None) => write!(f, ": {c}")?,
            (None, Some(m)) => write!(f, ": {m}")?,
            (None, None) => {}
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// A URL for messages and logs: scheme, host, port and path; the query is replaced by its
/// parameter names so neither SAS signatures nor ARM's signed polling parameters leak.
pub fn display_url(url: &url::Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(p) = url.port() {
        out.push_str(&format!(":{p}"));
    }
    out.push_str(url.path());
    let names: Vec<String> = url
        .query_pairs()
        .map(|(k, v)| {
            if k == "api-version" {
                format!("{k}={v}")
            } else {
                format!("{k}=…")
            }
        })
        .collect();
    if !names.is_empty() {
        out.push('?');
        out.push_str(&names.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_url_hides_query_values() {
        let u = url::Url::parse(
            "https://management.azure.com/x/operationresults/1?api-version=2024-05-01&t=1&s=SIG",
        )
        .unwrap();
        assert_eq!(
            display_url(&u),
            "https://management.azure.com/x/operationresults/1?api-version=2024-05-01&t=…&s=…"
        );
    }

    #[test]
    fn missing_permission_from_arm_message() {
        let e = ServiceError {
            status: 403,
            code: Some("AuthorizationFailed".into()),
            message: "The client 'a' with object id 'b' does not have authorization to perform \
                      action 'Microsoft.Network/networkWatchers/packetCaptures/write' over scope '/x'"
                .into(),
            ..Default::default()
        };
        assert_eq!(
            e.missing_permission(),
            Some("Microsoft.Network/networkWatchers/packetCaptures/write")
        );
        assert!(e.to_string().contains("missing permission"));
    }
}
