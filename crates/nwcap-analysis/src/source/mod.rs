//! Opens analysis inputs: memory-maps files, reads standard input, inflates gzip. The bytes
//! are handed to `capture` as one slice, and a mapped file is kept open beside its map so the
//! analysis pass can read it window by window (`crate::source::window`), copied or mapped; this module
//! knows nothing of the formats inside.

pub mod window;

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;

use memmap2::Mmap;

/// The bytes of one input.
pub enum Input {
    /// A memory-mapped file. The map serves finding shard boundaries, `--write`, and the
    /// analysis pass's windows of small records; its windows of large records are read from
    /// `file` with positioned reads.
    Mapped {
        /// The whole file, mapped.
        map: Mmap,
        /// The open file, for positioned reads.
        file: File,
    },
    /// Bytes read into memory (stdin, gzip, empty files).
    Owned(Vec<u8>),
}

impl Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped { map, .. } => map,
            Input::Owned(v) => v,
        }
    }
}

/// An input that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// open/read/mmap failed.
    #[error("cannot read '{path}': {source}")]
    Io {
        /// Path as given.
        path: String,
        /// Cause.
        source: io::Error,
    },
    /// A directory was given.
    #[error("'{0}' is a directory, not a capture file")]
    Directory(String),
}

/// An opened input and any remark about how it was read.
pub struct Opened {
    /// The bytes.
    pub data: Input,
    /// E.g. a damaged gzip stream.
    pub warning: Option<String>,
    /// Whether the bytes were inflated from gzip.
    pub gzip: bool,
}

impl Opened {
    /// The file itself and its map when it is read from disk as it is; `None` for bytes held
    /// in memory (standard input, gzip, empty files, pipes).
    pub fn on_disk(&self) -> Option<(&File, &Mmap)> {
        match &self.data {
            Input::Mapped { file, map } => Some((file, map)),
            Input::Owned(_) => None,
        }
    }
}

/// Opens `path` (`-` = standard input).
pub fn open(path: &str) -> Result<Opened, InputError> {
    let io_err = |source| InputError::Io {
        path: path.to_string(),
        source,
    };
    let data = if path == "-" {
        let mut v = Vec::new();
        io::stdin().lock().read_to_end(&mut v).map_err(io_err)?;
        Input::Owned(v)
    } else {
        let file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if meta.is_dir() {
            return Err(InputError::Directory(path.to_string()));
        }
        if !meta.is_file() {
            // Pipes, process substitution (`<(zcat x.pcap.gz)`), /dev/stdin: their length says
            // nothing about what they hold, and they cannot be mapped.
            let mut v = Vec::new();
            (&file).read_to_end(&mut v).map_err(io_err)?;
            Input::Owned(v)
        } else if meta.len() == 0 {
            Input::Owned(Vec::new())
        } else {
            // SAFETY: the map is read-only and private to this process; a capture file being
            // truncated by another process while nwcap reads it is the one hazard, the same
            // one every mmap-based reader (tshark's included) accepts. The header, shard
            // boundaries, `--write` and the pass's windows of small records go through the
            // map; windows of large records are read from the file, and there a file that
            // shrank is reported as a read error.
            match unsafe { Mmap::map(&file) } {
                Ok(map) => Input::Mapped { map, file },
                // Pipes and special files cannot be mapped: read them instead.
                Err(_) => {
                    let mut v = Vec::new();
                    (&file).read_to_end(&mut v).map_err(io_err)?;
                    Input::Owned(v)
                }
            }
        }
    };
    Ok(inflated(data))
}

/// Bytes already in memory (a blob `analyze --capture` kept whole: gzip, or for `--write`),
/// inflated when gzip.
pub fn from_memory(data: Vec<u8>) -> Opened {
    inflated(Input::Owned(data))
}

/// `data` as opened: inflated when it is gzip, as it is otherwise.
fn inflated(data: Input) -> Opened {
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let warning = flate2::read::MultiGzDecoder::new(&data[..])
            .read_to_end(&mut out)
            .err()
            .map(|e| {
                format!(
                    "gzip stream damaged after {} inflated bytes: {e}",
                    out.len()
                )
            });
        return Opened {
            data: Input::Owned(out),
            warning,
            gzip: true,
        };
    }
    Opened {
        data,
        warning: None,
        gzip: false,
    }
}
