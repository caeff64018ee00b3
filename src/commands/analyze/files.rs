//! Local files: telling the same file apart under two names, never writing over an input,
//! and writing `--write`'s output atomically.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::exit;

/// A file's identity (device, inode), links resolved; `None` where it cannot be had (no such
/// file, or not a Unix).
pub(super) type FileId = (u64, u64);

pub(super) fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Refuses `--write` to a file that is one of the inputs (through any link): writing it would
/// destroy the capture being read.
pub(super) fn refuse_overwriting_inputs(out: &Path, inputs: &[String]) -> anyhow::Result<()> {
    let Some(id) = file_id(out) else {
        return Ok(());
    };
    match inputs
        .iter()
        .find(|p| *p != "-" && file_id(Path::new(p)) == Some(id))
    {
        Some(p) => Err(exit::usage(anyhow::anyhow!(
            "--write '{}' is the input '{p}' (the same file): nwcap never overwrites an input",
            out.display()
        ))),
        None => Ok(()),
    }
}

/// Writes `path` through `write` into a new file beside it, renamed into place only once
/// complete: a failure leaves `path` as it was.
pub(super) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new();
    temp.prefix(".nwcap-").suffix(".part");
    // The mode a plain create gives (0666 less the umask), not the temporary file's 0600.
    #[cfg(unix)]
    temp.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let temp = temp.tempfile_in(dir)?;
    write(temp.as_file())?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
