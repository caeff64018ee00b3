//! The per-record loop: one loop per capture shape (byte order, time unit), so that each
//! reader's record walk is inlined into it, keying records as they are read and accounting
//! them in the flow table a batch at a time. It never reads bytes itself: the reader it is
//! given walks a slice (a window, or the whole file).

use super::analyzer::{KEYED, SCREENED};
use super::{Analyzer, FileCounters};
use crate::capture::pcap::Shape;
use crate::capture::{pcapng, CaptureError, Reader, Record};
use crate::flow::Pending;

/// Records keyed by [`run`] before the flow table accounts them together (see
/// [`FlowTable::add_batch`]); at most [`crate::flow::MAX_BATCH`].
pub const BATCH: usize = 32;

/// Walks a reader to its end or its damage, counting and accounting every record; returns
/// the damage, if any. A reader over a window stops at the window's end (see
/// [`Reader::need`]); its last batch is then accounted before this returns, because the
/// records borrow from the window. The flow table is left for
/// [`crate::flow::FlowTable::settle`].
pub fn run(
    reader: &mut Reader<'_>,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) -> Option<CaptureError> {
    // Without inspection or sequence analysis the loop holds none of their code (see
    // `Analyzer::inspecting` and `Analyzer::health`).
    match (analyzer.inspecting(), analyzer.health()) {
        (true, true) => run_as::<true, true>(reader, counters, analyzer),
        (true, false) => run_as::<true, false>(reader, counters, analyzer),
        (false, true) => run_as::<false, true>(reader, counters, analyzer),
        (false, false) => run_as::<false, false>(reader, counters, analyzer),
    }
}

/// [`run`], with or without payload inspection and sequence analysis.
fn run_as<const INSPECT: bool, const HEALTH: bool>(
    reader: &mut Reader<'_>,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) -> Option<CaptureError> {
    // One loop per format, so that each reader's record walk is inlined into it.
    match reader {
        Reader::Pcap(r) => {
            if !r.is_done() {
                // The common shapes as constants, each with a loop of its own.
                let shape = |big_endian, nanos| Shape {
                    big_endian,
                    nanos,
                    header_len: 16,
                };
                match r.shape() {
                    s if s == shape(false, false) => account_all::<INSPECT, HEALTH>(
                        || r.pull_shaped(shape(false, false)),
                        counters,
                        analyzer,
                    ),
                    s if s == shape(false, true) => account_all::<INSPECT, HEALTH>(
                        || r.pull_shaped(shape(false, true)),
                        counters,
                        analyzer,
                    ),
                    s if s == shape(true, false) => account_all::<INSPECT, HEALTH>(
                        || r.pull_shaped(shape(true, false)),
                        counters,
                        analyzer,
                    ),
                    s if s == shape(true, true) => account_all::<INSPECT, HEALTH>(
                        || r.pull_shaped(shape(true, true)),
                        counters,
                        analyzer,
                    ),
                    s => account_all::<INSPECT, HEALTH>(|| r.pull_shaped(s), counters, analyzer),
                }
            }
            r.take_error()
        }
        Reader::Pcapng(r) => {
            // A section header or an interface block may change the shape: the walk stops
            // there without being done, and goes on in the loop for the new one.
            while !r.is_done() {
                let shape = |big_endian, scale| pcapng::Shape { big_endian, scale };
                match r.shape() {
                    s if s == shape(false, 1000) => account_all::<INSPECT, HEALTH>(
                        || r.pull_shaped(shape(false, 1000)),
                        counters,
                        analyzer,
                    ),
                    s if s == shape(false, 1) => account_all::<INSPECT, HEALTH>(
                        || r.pull_shaped(shape(false, 1)),
                        counters,
                        analyzer,
                    ),
                    s if s == shape(true, 1000) => account_all::<INSPECT, HEALTH>(
                        || r.pull_shaped(shape(true, 1000)),
                        counters,
                        analyzer,
                    ),
                    s if s == shape(true, 1) => account_all::<INSPECT, HEALTH>(
                        || r.pull_shaped(shape(true, 1)),
                        counters,
                        analyzer,
                    ),
                    s => account_all::<INSPECT, HEALTH>(|| r.pull_general(s), counters, analyzer),
                }
            }
            r.take_error()
        }
    }
}

/// Accounts every record `next` gives; the reader keeps the damage that ends them.
#[inline(always)]
fn account_all<'a, const INSPECT: bool, const HEALTH: bool>(
    mut next: impl FnMut() -> Option<Record<'a>>,
    counters: &mut FileCounters,
    analyzer: &mut Analyzer,
) {
    // Records are keyed as they are read, without being collected first; only the flow
    // table works a batch at a time.
    let mut pending = [Pending::EMPTY; BATCH];
    let mut hashes = [0u64; BATCH];
    loop {
        let (mut taken, mut n) = (0, 0);
        // A record for the inspector ends its batch early, so that the loop holds no call:
        // it is offered after the batch, and the next batch's decoder follows the
        // inspector's state (which it may change).
        let mut screened = None;
        let fast = analyzer.decoder();
        while taken < BATCH {
            // Borrowed where it was returned: moving it would copy it in 16-byte pieces from
            // the narrower stores that built it, a store-forwarding stall per record.
            let rec = next();
            let Some(r) = &rec else {
                break;
            };
            taken += 1;
            counters.add_uncounted(r, taken);
            let got = analyzer.key_into::<INSPECT, HEALTH>(fast, r, &mut pending[n]);
            if got & KEYED != 0 {
                // The slot loads while the rest of the batch is decoded.
                hashes[n] = analyzer.flows.prefetch_slot(&pending[n].key);
                n += 1;
            }
            if INSPECT && got & SCREENED != 0 {
                screened = Some((r.linktype, r.data, n - 1));
                break;
            }
        }
        counters.packets += taken as u64;
        if let Some((linktype, data, i)) = screened {
            analyzer.inspect(linktype, data, &pending[i]);
        } else if taken < BATCH {
            analyzer.flows.add_hashed(&pending[..n], &hashes[..n]);
            return;
        }
        analyzer.flows.add_hashed(&pending[..n], &hashes[..n]);
    }
}
