//! Blob download: a blob URL in, a verified file on disk (or a verified stream) out. It knows
//! nothing of packets or Resource Manager.
//!
//! Contract: bytes only ever go to `NAME.part`, with the blob's etag beside it in
//! `NAME.part.etag`; `NAME` appears only after the size (and Content-MD5, when the blob has
//! one) matched, and every request after the first is pinned to that etag with `If-Match`, so
//! two versions of a blob are never mixed. Every message this module produces has SAS
//! signatures removed ([`redact`]).
//!
//! - `url`: blob URLs, the names derived from them, SAS redaction.
//! - `download`: the client and the transfer (in-process retries, size and MD5 checks).
//! - `ranges`: the parallel ranged GETs of one transfer, delivered in order.
//! - `resume`: the files a download leaves beside its destination, read by the next run.
//! - `writer`: the file and hash threads, and the rename into place.
//! - `error`: [`BlobError`] and how SDK errors map to it.

mod download;
mod error;
mod ranges;
mod resume;
mod url;
mod writer;

pub use download::{
    BlobDownloader, BlobProps, DownloadOptions, Observer, Outcome, Silent, DEFAULT_BLOCK_SIZE,
    DEFAULT_PARALLEL,
};
pub use error::{error_text, map_sdk_error, BlobError};
pub use resume::sidecar_paths;
pub use url::{redact, safe_file_name, BlobUrl};
