//! Where a capture's bytes come from, as one [`Input`]: a file on disk (memory-mapped, and
//! read window by window, see [`window`]), bytes held in memory (standard input, pipes, gzip
//! inflated, a blob kept whole), or a capture arriving in order (a blob being downloaded)
//! through the plain [`Stream`] interface that a caller implements. Gzip is inflated here.
//! The pass reads every kind the same way. This module knows nothing of the formats inside and
//! never writes.

pub mod window;

use std::fs::File;
use std::io::{self, Read};

use memmap2::Mmap;

use window::ReadAt;

/// One input's bytes and how they were read.
pub struct Input<'s> {
    bytes: Bytes<'s>,
    /// E.g. a damaged gzip stream.
    warning: Option<String>,
    /// Whether the bytes were inflated from gzip.
    gzip: bool,
}

/// Where an [`Input`]'s bytes are.
enum Bytes<'s> {
    /// A memory-mapped file. The map serves finding shard boundaries, `--write`, and the
    /// analysis pass's windows of small records; its windows of large records are read from
    /// `file` with positioned reads.
    Mapped {
        /// The whole file, mapped.
        map: Mmap,
        /// The open file, for positioned reads.
        file: File,
    },
    /// Bytes read into memory (stdin, gzip, empty files, pipes, a blob kept whole).
    Owned(Vec<u8>),
    /// A capture arriving in order.
    Streamed(&'s dyn Stream),
}

/// A capture of known length whose bytes arrive in file order while it is analyzed (a blob
/// being downloaded): its first bytes at once, the rest through [`ReadAt`], asked for in
/// order.
pub trait Stream: ReadAt + Sync {
    /// The first bytes: more than any file header, or the whole capture when it is smaller.
    fn head(&self) -> &[u8];
    /// The length of the whole capture.
    fn total_len(&self) -> u64;
}

/// How a pass reads an input that is not all in memory: window by window, each copied in by
/// positioned reads or, where records are small, walked in the file's map (see
/// [`window::walk`] for why), rather than the whole map at once.
#[derive(Clone, Copy)]
pub struct Windowed<'a> {
    /// The file or stream.
    pub src: &'a (dyn ReadAt + Sync),
    /// The same file, memory-mapped, if it is.
    pub map: Option<&'a Mmap>,
    /// Bytes per window: [`window::WINDOW`]; tests make it tiny.
    pub window: usize,
}

impl<'s> Input<'s> {
    /// Bytes already in memory (a blob kept whole: gzip, or for `--write`), inflated when
    /// gzip.
    pub fn from_memory(data: Vec<u8>) -> Input<'static> {
        inflated(Bytes::Owned(data))
    }

    /// A capture arriving through `stream`, read as it arrives. (A gzip stream cannot be
    /// walked in order: keep it whole and use [`Input::from_memory`].)
    pub fn streamed(stream: &'s dyn Stream) -> Input<'s> {
        Input {
            bytes: Bytes::Streamed(stream),
            warning: None,
            gzip: false,
        }
    }

    /// The bytes in memory: the whole capture, or a stream's first bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped { map, .. } => map,
            Bytes::Owned(v) => v,
            Bytes::Streamed(s) => s.head(),
        }
    }

    /// The whole capture in memory, for a second pass (`--write`); `None` for a stream.
    pub fn whole(&self) -> Option<&[u8]> {
        (!matches!(self.bytes, Bytes::Streamed(_))).then(|| self.bytes())
    }

    /// The length of the whole capture when [`bytes`](Self::bytes) holds only its start.
    pub fn streamed_len(&self) -> Option<u64> {
        match &self.bytes {
            Bytes::Streamed(s) => Some(s.total_len()),
            _ => None,
        }
    }

    /// How a pass reads it window by window: a file on disk (with its map) or a stream;
    /// `None` for bytes held in memory, walked in place.
    pub fn windowed(&self) -> Option<Windowed<'_>> {
        match &self.bytes {
            Bytes::Mapped { map, file } => Some(Windowed {
                src: file,
                map: Some(map),
                window: window::WINDOW,
            }),
            Bytes::Owned(_) => None,
            Bytes::Streamed(s) => Some(Windowed {
                src: *s,
                map: None,
                window: window::WINDOW,
            }),
        }
    }

    /// Whether the bytes were inflated from gzip.
    pub fn gzip(&self) -> bool {
        self.gzip
    }

    /// A remark about how it was read (a damaged gzip stream).
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }
}

/// An input that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// open/read/mmap failed.
    #[error("cannot read '{path}'")]
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

impl InputError {
    /// What went wrong, without the path (for a report that names the file beside it).
    pub fn cause(&self) -> String {
        match self {
            InputError::Io { source, .. } => format!("cannot read: {source}"),
            InputError::Directory(_) => "a directory, not a capture file".into(),
        }
    }
}

/// Opens `path` (`-` = standard input).
pub fn open(path: &str) -> Result<Input<'static>, InputError> {
    let io_err = |source| InputError::Io {
        path: path.to_string(),
        source,
    };
    let data = if path == "-" {
        let mut v = Vec::new();
        io::stdin().lock().read_to_end(&mut v).map_err(io_err)?;
        Bytes::Owned(v)
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
            Bytes::Owned(v)
        } else if meta.len() == 0 {
            Bytes::Owned(Vec::new())
        } else {
            // SAFETY: the map is read-only and private to this process; a capture file being
            // truncated by another process while nwcap reads it is the one hazard, the same
            // one every mmap-based reader (tshark's included) accepts. The header, shard
            // boundaries, `--write` and the pass's windows of small records go through the
            // map; windows of large records are read from the file, and there a file that
            // shrank is reported as a read error.
            match unsafe { Mmap::map(&file) } {
                Ok(map) => Bytes::Mapped { map, file },
                // Pipes and special files cannot be mapped: read them instead.
                Err(_) => {
                    let mut v = Vec::new();
                    (&file).read_to_end(&mut v).map_err(io_err)?;
                    Bytes::Owned(v)
                }
            }
        }
    };
    Ok(inflated(data))
}

/// `bytes` as opened: inflated when they are gzip, as they are otherwise.
fn inflated(bytes: Bytes<'static>) -> Input<'static> {
    let plain = Input {
        bytes,
        warning: None,
        gzip: false,
    };
    let data = plain.bytes();
    if !data.starts_with(&[0x1f, 0x8b]) {
        return plain;
    }
    let mut out = Vec::new();
    let warning = flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .err()
        .map(|e| {
            format!(
                "gzip stream damaged after {} inflated bytes: {e}",
                out.len()
            )
        });
    Input {
        bytes: Bytes::Owned(out),
        warning,
        gzip: true,
    }
}
