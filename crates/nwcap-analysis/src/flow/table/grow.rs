//! How much room the flow table takes: its slots per flow ([`slots_for`]), and its dense
//! arrays grown in place on reserved address space ([`regrow`]). It never looks a flow up.

use crate::hint::huge_pages;

/// The slots a table of `flows` flows needs: four per flow (load at most 1/4) up to
/// [`ROOMY_FLOWS`], two from there on. A lookup whose flow is not in its home slot walks on,
/// and the walk's end is a branch the CPU mispredicts: a load of 1/4 was faster than 1/2 (and
/// than 1/8) for a few MiB more of slots. Beyond, two, to save memory where flows are many.
pub(super) fn slots_for(flows: usize) -> usize {
    flows * if flows < ROOMY_FLOWS { 4 } else { 2 }
}

/// Flows up to which [`slots_for`] keeps four slots per flow.
#[cfg(not(test))]
const ROOMY_FLOWS: usize = 1 << 19;
/// Small in unit tests, so that their tables pass it.
#[cfg(test)]
const ROOMY_FLOWS: usize = 1 << 9;

/// Flows the dense arrays reserve address space for at once (208 MiB of it): growing past it
/// copies them. Kept modest because where the kernel accounts address space strictly
/// (`vm.overcommit_memory = 2`), a reservation counts against the limit even untouched.
#[cfg(not(test))]
const RESERVED_FLOWS: usize = 1 << 20;
/// Small in unit tests, so that they grow past it.
#[cfg(test)]
const RESERVED_FLOWS: usize = 1 << 10;

/// `v` with room for `cap` elements, backed by huge pages where the system allows. The first
/// time, room for [`RESERVED_FLOWS`] is reserved in a fresh allocation, advised before its
/// pages are touched so that it is on huge pages: address space only, as pages are backed when
/// first touched, so the arrays grow in place up to there (a copy each time they doubled cost
/// a few per cent of a pass). Past it they are reallocated with room for 8 times `cap`: the
/// allocator moves an allocation that large by remapping its pages (`mremap`), where a copy
/// held both for a moment and took the peak past 64 MiB + 300 bytes a flow. The lines,
/// aligned to 64 bytes, are still copied: the system allocator has no aligned `realloc`.
/// Where the system refuses that much address space, the arrays get only what is asked.
pub(super) fn regrow<T: Copy>(mut v: Vec<T>, cap: usize) -> Vec<T> {
    if cap <= v.capacity() {
        return v;
    }
    if v.capacity() >= RESERVED_FLOWS {
        if v.try_reserve_exact(cap.saturating_mul(8) - v.len())
            .is_err()
        {
            v.reserve_exact(cap - v.len());
        }
        // The part beyond the old pages is untouched yet.
        huge_pages(&v);
        return v;
    }
    let mut grown = Vec::new();
    if grown.try_reserve_exact(RESERVED_FLOWS.max(cap)).is_err() {
        grown = Vec::with_capacity(cap);
    }
    huge_pages(&grown);
    grown.extend_from_slice(&v);
    grown
}
