//! Blob errors: what a failed transfer says, already redacted, and how an SDK error becomes
//! one of them.
//!
//! Owns the kinds of failure ([`BlobError`]), the advice attached to 401/403, and which SDK
//! errors are worth resuming after. It never decides an exit code (the commands map kinds to
//! codes) and never lets a SAS signature through ([`redact`]).

use std::io;
use std::path::Path;

use azure_core::error::ErrorKind;
use azure_core::http::StatusCode;

use super::redact;

/// Why a blob operation failed. Every message is already redacted.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The text is not a blob URL (or the SAS is malformed).
    #[error("{0}")]
    BadUrl(String),
    /// 401/403: the SAS or the identity may not read the blob.
    #[error("{0}")]
    Auth(String),
    /// No Entra ID token could be had: no credential, before any request to storage.
    #[error("{0}")]
    Credential(String),
    /// 404: no such blob or container.
    #[error("{0}")]
    NotFound(String),
    /// The blob changed while it was being downloaded (etag no longer matches).
    #[error("{0}")]
    Changed(String),
    /// Size or Content-MD5 did not match what the service announced.
    #[error("{0}")]
    Integrity(String),
    /// The local file exists and is not a finished download of this blob version.
    #[error("{0}")]
    Exists(String),
    /// A local file could not be created or written (unwritable path, disk full).
    #[error("{0}")]
    Io(String),
    /// The connection kept failing; the bytes so far are kept for a resume.
    #[error("{0}")]
    Interrupted(String),
    /// Any other service or transport error.
    #[error("{0}")]
    Service(String),
}

pub(super) fn io_err(what: &str, path: &Path, e: &io::Error) -> BlobError {
    BlobError::Io(format!("{what} {}: {e}", path.display()))
}

/// An SDK error as one redacted line: its message and the causes below it (the SDK's own
/// message is often just "retry policy expired", the cause says connection refused).
pub fn error_text(e: &azure_core::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        src = s.source();
    }
    // One line: some SDK messages carry a second line of troubleshooting advice.
    redact(&parts.join(": ").replace('\n', " "))
}

/// Transport failures and server-side hiccups: worth resuming after.
pub(super) fn is_transient(e: &azure_core::Error) -> bool {
    match e.kind() {
        ErrorKind::HttpResponse { status, .. } => {
            let s = u16::from(*status);
            s >= 500 || s == 408 || s == 429
        }
        ErrorKind::Io | ErrorKind::Connection | ErrorKind::Other => true,
        _ => false,
    }
}

/// Maps an SDK error to a one-line, redacted [`BlobError`]; `bearer` says whether an Entra ID
/// token (rather than a SAS) was used, which decides the advice for 403.
pub fn map_sdk_error(what: &str, bearer: bool, e: azure_core::Error) -> BlobError {
    let (status, code) = match e.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => (Some(*status), error_code.clone()),
        _ => (None, None),
    };
    let code = code.map(|c| format!(" {c}")).unwrap_or_default();
    match status {
        Some(StatusCode::Unauthorized) | Some(StatusCode::Forbidden) => {
            let s = u16::from(status.expect("matched"));
            let advice = if bearer {
                "the signed-in identity needs the role \"Storage Blob Data Reader\" on the \
                 storage account or container (or pass a SAS)"
            } else {
                "the SAS is wrong, expired, or lacks read (r) permission (list (l) for \
                 captures with several files)"
            };
            BlobError::Auth(format!("{what}: access denied ({s}{code}): {advice}"))
        }
        Some(StatusCode::NotFound) => BlobError::NotFound(format!("{what}: not found (404{code})")),
        Some(StatusCode::PreconditionFailed) => BlobError::Changed(format!(
            "{what}: the blob changed during the download (412{code})"
        )),
        _ if matches!(e.kind(), ErrorKind::Credential) => BlobError::Credential(format!(
            "{what}: could not get an Entra ID token: {}",
            error_text(&e)
        )),
        _ => BlobError::Service(format!("{what}: {}", error_text(&e))),
    }
}
