//! CPU hints shared by the hot loops.

/// Asks the CPU to start loading the cache line at `p`. A prefetch is only a hint: it never
/// faults, even on an address outside any mapping, so any pointer value is fine.
#[inline(always)]
pub fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch instructions have no architectural effect and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`] of every cache line `v` spans: a value that is not line-aligned spans one
/// line more than its size suggests, and stepping through it by lines from its start alone
/// leaves out the last.
#[inline(always)]
pub fn prefetch_all<T>(v: &T) {
    let p: *const u8 = (v as *const T).cast();
    let size = std::mem::size_of::<T>();
    for at in (0..size).step_by(64) {
        prefetch(p.wrapping_add(at));
    }
    prefetch(p.wrapping_add(size.saturating_sub(1)));
}

/// Asks the kernel to back a large allocation with transparent huge pages (where the system
/// leaves that to `madvise`, as Debian does). The flow table is touched at random: with 4 KiB
/// pages nearly every lookup misses the TLB, and filling tens of megabytes costs a fault per
/// page. Allocations without a whole 2 MiB page are left alone. The advice covers every page
/// the allocation touches, the allocator's header in its first page included: advising only
/// the 2 MiB pages inside split the mapping in three, and `mremap` refuses to move a range
/// that spans mappings, so `realloc` fell back to copying (see `flow::table::regrow`).
pub fn huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let (page, (start, end)) = (page_size(), span(v));
        if end / HUGE * HUGE > start.next_multiple_of(HUGE) {
            let first = start / page * page;
            let end = end.next_multiple_of(page);
            // SAFETY: the range holds `v`'s live allocation and the rest of the pages it
            // shares, all mapped; MADV_HUGEPAGE changes only how the kernel backs those pages,
            // never their contents.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// The system's page size.
#[cfg(target_os = "linux")]
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

/// The addresses `v`'s whole capacity spans: its first byte and the one past its last.
#[cfg(target_os = "linux")]
fn span<T>(v: &Vec<T>) -> (usize, usize) {
    let start = v.as_ptr() as usize;
    (
        start,
        start + v.capacity().saturating_mul(std::mem::size_of::<T>()),
    )
}

/// Faults in the pages of `v`'s whole capacity, writable, in one system call
/// (`MADV_POPULATE_WRITE`), for a vector about to be filled: a fault per 4 KiB page as it is
/// written costs more (figures in docs/performance.md). Contents are unchanged. Returns
/// `false` where the
/// system has no such call (Linux before 5.14, other systems): the pages then fault as they
/// are written.
pub fn prefault<T>(v: &Vec<T>) -> bool {
    #[cfg(target_os = "linux")]
    {
        let (page, (start, end)) = (page_size(), span(v));
        // Pages shared with other allocations are left alone: they are mapped already.
        let (first, end) = (start.next_multiple_of(page), end / page * page);
        if end <= first {
            return true;
        }
        // SAFETY: the range lies inside `v`'s allocation, mapped; populating only maps its
        // pages, never changes their contents.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                end - first,
                libc::MADV_POPULATE_WRITE,
            ) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = v;
        false
    }
}

/// `n` zeroed table slots whose pages are already mapped writable, on huge pages when `huge`
/// (see [`huge_pages`]). `vec![0; n]` alone gets untouched memory from the kernel, which a
/// table reads (probing empty slots) before it writes: the read maps the shared zero page, and
/// the first write then replaces that mapping, which flushes the TLB of every CPU the process
/// runs on, and with other threads at work each flush interrupts them. [`prefault`] maps
/// each page once, writable, and zeroed by the kernel. Where it cannot, the zeros are written
/// from here, at the cost of a pass over them (figures in docs/performance.md).
pub fn written_zeros<T: Copy + Default>(n: usize, huge: bool) -> Vec<T> {
    // For integers `vec!` asks the allocator for zeroed memory, which it maps untouched.
    let mut v = vec![T::default(); n];
    if huge {
        huge_pages(&v);
    }
    if !prefault(&v) {
        v.fill(T::default());
    }
    v
}
