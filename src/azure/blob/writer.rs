//! Where downloaded bytes go: a file written on a thread of its own (`NAME.part`, renamed into
//! place only once complete and verified), or a channel read as they come; and the MD5 of all
//! of them, computed on another thread.
//!
//! Owns the threads, the bounded channels between them, and the final rename. It never
//! decides what to fetch, whether the bytes are good (the caller verifies them before
//! [`commit`]) or where a download resumes.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};

use super::error::io_err;
use super::resume::LocalFiles;
use super::BlobError;

/// What the writer ends with: bytes in the file, and the MD5 of all of them when hashing.
pub(super) type Written = Result<(u64, Option<[u8; 16]>), BlobError>;

/// Writes chunks on one thread (or sends them on) and hashes them on another, so disk writes,
/// MD5 and the network overlap. The network's chunks are small (tens of KiB), so they are
/// gathered into pieces of [`PIECE`] bytes first: one hand-over per piece instead of per chunk.
/// Each channel holds at most [`DEPTH`] pieces (`Bytes` clones share memory), which bounds
/// memory.
pub(super) struct Writer {
    to: Target,
    hash: Option<Stage<[u8; 16]>>,
    /// Bytes gathered for the next piece.
    piece: BytesMut,
}

/// Bytes handed to the writer and hash threads at a time.
const PIECE: usize = 1 << 20;
/// Pieces a channel holds.
const DEPTH: usize = 4;
/// Bytes written between two starts of their write-back.
const WRITEBACK: u64 = 8 << 20;

/// Asks the kernel to start writing `len` bytes at `at` to disk now, without waiting, so that
/// the `sync_all` before the rename finds little left to do instead of the whole file.
#[cfg(target_os = "linux")]
fn start_writeback(file: &fs::File, at: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on an open descriptor; it only starts write-back (a failure
    // leaves the work to `sync_all`, which reports errors).
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            at as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &fs::File, _: u64, _: u64) {}

/// Where a [`Writer`] puts the bytes.
enum Target {
    /// A file, written on a thread of its own; the thread returns the file's length.
    File(Stage<u64>),
    /// A channel, read as the bytes come (see [`super::BlobDownloader::stream`]); `None` once
    /// closed. Counts what it sent.
    Channel(Option<tokio::sync::mpsc::Sender<Bytes>>, u64),
}

/// A thread fed through a bounded channel.
struct Stage<T> {
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    handle: Option<std::thread::JoinHandle<Result<T, BlobError>>>,
}

impl<T: Send + 'static> Stage<T> {
    fn spawn(
        name: &str,
        work: impl FnOnce(tokio::sync::mpsc::Receiver<Bytes>) -> Result<T, BlobError> + Send + 'static,
    ) -> Result<Self, BlobError> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(DEPTH);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || work(rx))
            .map_err(|e| BlobError::Io(format!("cannot start {name} thread: {e}")))?;
        Ok(Self {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    async fn send(&self, chunk: Bytes) -> bool {
        match &self.tx {
            Some(tx) => tx.send(chunk).await.is_ok(),
            None => false,
        }
    }

    async fn join(&mut self) -> Result<T, BlobError> {
        self.tx = None;
        let Some(handle) = self.handle.take() else {
            return Err(BlobError::Io("the writer already stopped".into()));
        };
        tokio::task::spawn_blocking(move || handle.join())
            .await
            .map_err(|e| BlobError::Io(format!("writer thread: {e}")))?
            .map_err(|_| BlobError::Io("the writer thread panicked".into()))?
    }
}

/// A thread computing the MD5 of the chunks it is sent, after the first `n` bytes of the file
/// `resumed` names when it is `Some((file, n))`: the digest covers the whole blob.
fn md5_stage(resumed: Option<(PathBuf, u64)>) -> Result<Stage<[u8; 16]>, BlobError> {
    Stage::spawn("nwcap-md5", move |mut rx| {
        let mut h = Md5::new();
        if let Some((path, n)) = resumed {
            let mut old = fs::File::open(&path)
                .map_err(|e| io_err("cannot read", &path, &e))?
                .take(n);
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let got = old
                    .read(&mut buf)
                    .map_err(|e| io_err("cannot read", &path, &e))?;
                if got == 0 {
                    break;
                }
                h.update(&buf[..got]);
            }
        }
        while let Some(chunk) = rx.blocking_recv() {
            h.update(&chunk);
        }
        Ok(h.finalize().into())
    })
}

impl Writer {
    pub(super) fn open(path: &Path, keep: u64, hash: bool) -> Result<Self, BlobError> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| io_err("cannot create", path, &e))?;
        file.set_len(keep)
            .map_err(|e| io_err("cannot write", path, &e))?;
        file.seek(SeekFrom::Start(keep))
            .map_err(|e| io_err("cannot write", path, &e))?;
        let hash = if hash {
            Some(md5_stage(Some((path.to_owned(), keep)))?)
        } else {
            None
        };
        let path = path.to_owned();
        let to = Stage::spawn("nwcap-writer", move |mut rx| {
            let mut written = keep;
            let mut flushed = keep;
            while let Some(chunk) = rx.blocking_recv() {
                file.write_all(&chunk)
                    .map_err(|e| io_err("cannot write", &path, &e))?;
                written += chunk.len() as u64;
                if written - flushed >= WRITEBACK {
                    start_writeback(&file, flushed, written - flushed);
                    flushed = written;
                }
            }
            // Durable before the rename makes it visible under its final name.
            file.sync_all()
                .map_err(|e| io_err("cannot write", &path, &e))?;
            Ok(written)
        })?;
        Ok(Self {
            to: Target::File(to),
            hash,
            piece: BytesMut::new(),
        })
    }

    /// A writer into the channel `to`, hashing when `hash`.
    pub(super) fn channel(
        to: tokio::sync::mpsc::Sender<Bytes>,
        hash: bool,
    ) -> Result<Self, BlobError> {
        let hash = if hash { Some(md5_stage(None)?) } else { None };
        Ok(Self {
            to: Target::Channel(Some(to), 0),
            hash,
            piece: BytesMut::new(),
        })
    }

    /// Whether the bytes written so far outlive the process, for a later run to resume.
    pub(super) fn keeps(&self) -> bool {
        matches!(self.to, Target::File(_))
    }

    /// Queues a chunk; on a failure returns the writer's (or hasher's) error.
    pub(super) async fn write(&mut self, chunk: Bytes) -> Result<(), BlobError> {
        if self.piece.is_empty() && chunk.len() >= PIECE {
            return self.send(chunk).await;
        }
        if self.piece.capacity() - self.piece.len() < chunk.len() && !self.piece.is_empty() {
            let piece = self.piece.split().freeze();
            self.send(piece).await?;
        }
        if self.piece.capacity() == 0 {
            self.piece.reserve(PIECE.max(chunk.len()));
        }
        self.piece.extend_from_slice(&chunk);
        if self.piece.len() >= PIECE {
            let piece = self.piece.split().freeze();
            self.send(piece).await?;
        }
        Ok(())
    }

    /// Hands one piece to the hash and writer threads (or the channel).
    async fn send(&mut self, chunk: Bytes) -> Result<(), BlobError> {
        let hashed = match &self.hash {
            Some(h) => h.send(chunk.clone()).await,
            None => true,
        };
        let stored = hashed
            && match &mut self.to {
                Target::File(f) => f.send(chunk).await,
                Target::Channel(to, sent) => {
                    *sent += chunk.len() as u64;
                    match to {
                        Some(to) => to.send(chunk).await.is_ok(),
                        None => false,
                    }
                }
            };
        if stored {
            return Ok(());
        }
        Err(self
            .finish()
            .await
            .err()
            .unwrap_or_else(|| BlobError::Io("the writer stopped".into())))
    }

    /// Flushes, syncs and returns (bytes written, MD5 of them all when hashing).
    pub(super) async fn finish(&mut self) -> Written {
        if !self.piece.is_empty() {
            let piece = self.piece.split().freeze();
            // A failure to hand it over shows in the threads' results below.
            let _ = Box::pin(self.send(piece)).await;
        }
        let written = match &mut self.to {
            Target::File(f) => f.join().await,
            Target::Channel(to, sent) => {
                // The reader sees the end.
                *to = None;
                Ok(*sent)
            }
        };
        let md5 = match self.hash.as_mut() {
            Some(h) => Some(h.join().await?),
            None => None,
        };
        Ok((written?, md5))
    }
}

/// Puts a complete, verified `NAME.part` in place under `dest`, with its etag record beside it.
pub(super) fn commit(files: &LocalFiles, dest: &Path) -> Result<(), BlobError> {
    fs::rename(&files.part, dest).map_err(|e| io_err("cannot rename into place", dest, &e))?;
    // The record lets a later run skip this file; losing it only costs a re-download.
    let _ = fs::rename(&files.part_record, &files.record);
    Ok(())
}

/// Drops `NAME.part` and its record: bytes that can never become a good file.
pub(super) fn discard(files: &LocalFiles) {
    let _ = fs::remove_file(&files.part);
    let _ = fs::remove_file(&files.part_record);
}
