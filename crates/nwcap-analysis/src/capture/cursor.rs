//! Where a reader stands: its place in the file, the window of the file it holds, the shard it
//! walks, and why it stopped. Both format readers embed a [`Cursor`] and share its window
//! handling (moving from one window to the next, sharding, the damage they keep).
//!
//! A cursor never reads a record: the readers' walks test and move its fields directly, as
//! plain fields, so that sharing it costs the walks nothing.

use super::CaptureError;

/// A reader's place in the file and in the window of it that it holds (see `capture`'s
/// contract).
#[derive(Debug, Clone)]
pub(super) struct Cursor<'a> {
    /// The bytes in memory: the whole file, or a window starting at `base`.
    pub(super) data: &'a [u8],
    /// File offset of `data[0]`.
    pub(super) base: usize,
    /// Index in `data` of the next record or block.
    pub(super) pos: usize,
    /// Length of the whole file: a record is cut short only if it runs past this, and merely
    /// not yet read if it runs past the window.
    pub(super) len: usize,
    /// Records starting at or after this file offset belong to the next shard.
    pub(super) end: usize,
    /// `end` as an index in `data` (0 when the window starts past it): the walk tests this,
    /// without adding `base` for every record.
    pub(super) stop: usize,
    /// Whether the walk has stopped: at the end of the file, of the shard or of the window,
    /// or at damage.
    pub(super) done: bool,
    /// When the walk stopped at the end of the window: how many bytes from `position()` the
    /// next window must hold (0 = it did not).
    pub(super) need: usize,
    /// The damage that stopped the walk, until [`take_error`](Self::take_error) takes it.
    pub(super) error: Option<CaptureError>,
}

impl<'a> Cursor<'a> {
    /// A cursor at index `pos` of `data`, the whole file.
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
        Cursor {
            data,
            base: 0,
            pos,
            len: data.len(),
            end: usize::MAX,
            stop: usize::MAX,
            done: false,
            need: 0,
            error: None,
        }
    }

    /// File offset of the next record or block.
    pub(super) fn position(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes from [`position`](Self::position) the next window must hold, when the walk
    /// stopped at the end of this one before the end of the file.
    pub(super) fn need(&self) -> Option<usize> {
        (self.need != 0).then_some(self.need)
    }

    /// The cursor without its window, to be [attached](Self::attach) to the next.
    pub(super) fn detach(self) -> Cursor<'static> {
        let (done, need) = (self.done, self.need);
        self.rebase(&[], done, need)
    }

    /// Goes on in `window`, whose first byte is the file's byte at
    /// [`position`](Self::position); a cursor that was waiting for more bytes resumes.
    pub(super) fn attach<'b>(self, window: &'b [u8]) -> Cursor<'b> {
        let done = self.done && self.need == 0;
        self.rebase(window, done, 0)
    }

    /// The same cursor over `data`, which starts at [`position`](Self::position).
    fn rebase<'b>(self, data: &'b [u8], done: bool, need: usize) -> Cursor<'b> {
        Cursor {
            data,
            base: self.base + self.pos,
            stop: self.end.saturating_sub(self.base + self.pos),
            pos: 0,
            len: self.len,
            end: self.end,
            done,
            need,
            error: self.error,
        }
    }

    /// Moves to the records that start in `[start, end)`; `start` must be a record boundary.
    pub(super) fn shard(&mut self, start: usize, end: usize) {
        self.pos = start;
        self.end = end;
        self.stop = end.saturating_sub(self.base);
    }

    /// The damage that stopped the walk, once.
    pub(super) fn take_error(&mut self) -> Option<CaptureError> {
        self.error.take()
    }

    /// Stops the walk at damage.
    #[cold]
    pub(super) fn fail(&mut self, e: CaptureError) {
        self.done = true;
        self.error = Some(e);
    }

    /// Stops the walk at the end of the window, asking for `need` bytes from the current
    /// record on.
    #[cold]
    pub(super) fn wait(&mut self, need: usize) {
        self.need = need;
        self.done = true;
    }
}

/// The window-handling methods of a reader type whose field `cur` is its [`Cursor`] and whose
/// `rebase` makes the same reader around another cursor: one definition for both formats.
macro_rules! windowed_reader {
    ($reader:ident) => {
        impl<'a> $reader<'a> {
            /// File offset of the next record or block.
            pub fn position(&self) -> usize {
                self.cur.position()
            }

            /// The same reader, for a file of which the bytes it was made from are only the
            /// first (a capture streamed in: the rest comes window by window) and whose length
            /// is `len`.
            pub fn with_len(mut self, len: usize) -> Self {
                self.cur.len = len;
                self
            }

            /// Length of the whole file.
            pub fn file_len(&self) -> usize {
                self.cur.len
            }

            /// Bytes from [`position`](Self::position) the next window must hold, when the
            /// walk stopped at the end of this one before the end of the file.
            pub fn need(&self) -> Option<usize> {
                self.cur.need()
            }

            /// The reader's state without its window, to be [attached](Self::attach) to the
            /// next.
            pub fn detach(self) -> $reader<'static> {
                self.rebase($crate::capture::cursor::Cursor::detach)
            }

            /// Goes on in `window`, whose first byte is the file's byte at
            /// [`position`](Self::position).
            pub fn attach<'b>(self, window: &'b [u8]) -> $reader<'b> {
                self.rebase(|c| c.attach(window))
            }

            /// The damage that stopped the walk, once.
            pub fn take_error(&mut self) -> Option<$crate::capture::CaptureError> {
                self.cur.take_error()
            }
        }
    };
}
pub(super) use windowed_reader;
