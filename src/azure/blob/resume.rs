//! Resume across runs: what a download leaves beside its destination, and how the next run
//! reads it to skip a finished file, continue a partial one, or start over.
//!
//! Owns the names of those files ([`sidecar_paths`]) and the etag records that tie their bytes
//! to one blob version; bytes of another version are never resumed. It never writes blob
//! bytes (the writer does) and never talks to the service.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::io_err;
use super::{BlobError, BlobProps, Observer};

/// The three local paths of one download.
pub(super) struct LocalFiles {
    /// The bytes so far: `NAME.part`.
    pub(super) part: PathBuf,
    /// The etag of the version `part` holds: `NAME.part.etag`.
    pub(super) part_record: PathBuf,
    /// The etag of the version the finished `NAME` holds: `.NAME.etag`.
    pub(super) record: PathBuf,
}

impl LocalFiles {
    pub(super) fn new(dest: &Path) -> Self {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let with = |s: String| dest.with_file_name(s);
        Self {
            part: with(format!("{name}.part")),
            part_record: with(format!("{name}.part.etag")),
            record: with(format!(".{name}.etag")),
        }
    }
}

/// Paths a finished or partial download of `dest` may leave beside it (for cleanup and docs).
pub fn sidecar_paths(dest: &Path) -> [PathBuf; 3] {
    let f = LocalFiles::new(dest);
    [f.part, f.part_record, f.record]
}

fn read_record(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines()
        .next()
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

pub(super) fn write_record(path: &Path, etag: &str) -> io::Result<()> {
    fs::write(path, format!("{etag}\n"))
}

/// Whether `dest` already holds this blob version (same size and recorded etag), so that there
/// is nothing to download. Unless `force`, any other existing `dest` is an error: nwcap does
/// not replace a file it cannot vouch for.
pub(super) fn is_complete(
    dest: &Path,
    files: &LocalFiles,
    props: &BlobProps,
    force: bool,
) -> Result<bool, BlobError> {
    if !dest.exists() || force {
        return Ok(false);
    }
    let on_disk = fs::metadata(dest).map(|m| m.len()).ok();
    let recorded = read_record(&files.record);
    if recorded.as_deref() == Some(props.etag.as_str()) && on_disk == Some(props.size) {
        return Ok(true);
    }
    let why = if recorded.is_none() {
        "nwcap has no record of which blob version it holds"
    } else {
        "it holds another version of the blob"
    };
    Err(BlobError::Exists(format!(
        "{} exists and {why}; use --force to replace it",
        dest.display()
    )))
}

/// Where the transfer starts: the length of `NAME.part` when it holds bytes of this very blob
/// version, else 0 (a `NAME.part` of another version is announced, and the writer truncates
/// it).
pub(super) fn offset(
    files: &LocalFiles,
    props: &BlobProps,
    shown: &str,
    obs: &dyn Observer,
) -> u64 {
    let mut offset = 0;
    if let Ok(meta) = fs::metadata(&files.part) {
        let same = read_record(&files.part_record).as_deref() == Some(props.etag.as_str());
        if same && meta.len() <= props.size {
            offset = meta.len();
            obs.detail(&format!(
                "resuming {shown} at byte {offset} of {}",
                props.size
            ));
        } else {
            obs.warn(&format!(
                "discarding {}: it belongs to another version of the blob",
                files.part.display()
            ));
        }
    }
    offset
}

/// Creates `dest`'s folder and records which version `NAME.part` is about to hold, before any
/// byte of it is written.
pub(super) fn begin(dest: &Path, files: &LocalFiles, etag: &str) -> Result<(), BlobError> {
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| io_err("cannot create folder", dir, &e))?;
    }
    write_record(&files.part_record, etag)
        .map_err(|e| io_err("cannot write", &files.part_record, &e))
}
