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

/// Asks the kernel to back a large allocation with transparent huge pages (where the system
/// leaves that to `madvise`, as Debian does). The flow table is touched at random: with 4 KiB
/// pages nearly every lookup misses the TLB, and filling tens of megabytes costs a fault per
/// page. Only whole 2 MiB pages inside the allocation are advised; elsewhere this does nothing.
pub fn huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let bytes = v.capacity().saturating_mul(std::mem::size_of::<T>());
        let first = start.next_multiple_of(HUGE);
        let end = (start + bytes) / HUGE * HUGE;
        if end > first {
            // SAFETY: the range lies inside `v`'s live allocation, and MADV_HUGEPAGE changes
            // only how the kernel backs those pages, never their contents.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}
