//! Exit codes, and the error wrapper that carries one to `main`.

/// Success.
pub const OK: i32 = 0;
/// A runtime failure: I/O, network, service error.
pub const RUNTIME: i32 = 1;
/// Bad command line (clap also uses 2).
pub const USAGE: i32 = 2;
/// An input capture was damaged or is not a capture, or could not be read to its end (an I/O
/// error such as EIO, or the file shrank while it was read: to the user the file is unreadable
/// past that offset, like a damaged one); the report covers what could be read.
pub const DAMAGED_INPUT: i32 = 3;
/// Azure authentication or authorization failed (no token, 401, 403).
pub const AUTH: i32 = 4;
/// The subscription, resource group, watcher or capture does not exist (404).
pub const NOT_FOUND: i32 = 5;
/// Conflict (409): the capture name exists, or another capture runs on the VM.
pub const CONFLICT: i32 = 6;
/// The capture ended in `Error`, or an Azure operation reported `Failed`/`Canceled`.
pub const FAILED: i32 = 7;
/// `wait` gave up: the capture was still running at `--timeout`.
pub const TIMEOUT: i32 = 8;
/// Azure was unavailable: throttled (429) or failing (5xx) after retries, or no answer.
/// Trying again later may work.
pub const UNAVAILABLE: i32 = 9;
/// `download` (or `analyze --capture`): the blob changed during the download, or failed its
/// size/Content-MD5 check; nothing was kept under the final name, nor analyzed.
pub const BLOB_CHANGED: i32 = 10;
/// `download` (or `analyze --capture`): Blob Storage refused access (401/403: SAS or Entra ID
/// role).
pub const STORAGE_AUTH: i32 = 11;

/// Text for `--help`.
pub const HELP: &str = "Exit codes:
  0  success
  1  runtime error (file or network I/O, service error)
  2  usage error (bad flag, bad filter value)
  3  an input capture is damaged, cut short or not a capture, or a read of it failed
     part-way (report covers what was read)
  4  Azure authentication or authorization failed (no token, HTTP 401/403)
  5  not found: subscription, resource group, watcher or capture (HTTP 404)
  6  conflict: the capture name exists or another capture runs on the VM (HTTP 409)
  7  the capture ended in Error, or an Azure operation reported Failed/Canceled
  8  wait: the capture was still running at --timeout
  9  Azure unavailable: throttled (429), server errors (5xx) or no answer, after retries
  10 download, analyze --capture/--url: the blob changed mid-download or failed its
     size/MD5 check (no file kept, nothing analyzed)
  11 download, analyze --capture/--url: storage access denied (bad or expired SAS,
     or missing role \"Storage Blob Data Reader\")";

/// An error that decides the process exit code.
#[derive(Debug, thiserror::Error)]
#[error("{inner:#}")]
pub struct Coded {
    /// Exit code.
    pub code: i32,
    /// What went wrong.
    pub inner: anyhow::Error,
}

/// Wraps an error with an exit code.
pub fn with_code(code: i32, e: impl Into<anyhow::Error>) -> anyhow::Error {
    Coded {
        code,
        inner: e.into(),
    }
    .into()
}

/// Wraps an error as a usage error.
pub fn usage(e: impl Into<anyhow::Error>) -> anyhow::Error {
    Coded {
        code: USAGE,
        inner: e.into(),
    }
    .into()
}

/// The exit code an error maps to.
pub fn code_of(e: &anyhow::Error) -> i32 {
    e.chain()
        .find_map(|c| c.downcast_ref::<Coded>().map(|c| c.code))
        .unwrap_or(RUNTIME)
}
