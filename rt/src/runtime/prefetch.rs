//! [`prefetch`]: asks the CPU to bring a line of memory into its cache ahead
//! of its use, so that memory a worker will touch soon arrives while it does
//! other work.
//!
//! # Why
//!
//! A server with many connections finds little of a connection's state in
//! the cache when an event for it comes: the kernel's work for the other
//! connections (their sockets, their buffers) evicted it since. The first
//! touch of a process's future when it runs was then a miss the worker
//! waited for (`perf annotate` put half of `Lodged::run`'s time of
//! `kiln-bench --only W7-1KiB-256c --driver poll` on its first load), and
//! so was the poller's first touch of each event's `Readiness`. Two
//! prefetches take them out of the way:
//!
//! - when the scheduler takes a process out to run, it prefetches the
//!   process ready after it (`RunQueue::next`): that one's memory arrives
//!   while this one runs (a request's system calls take microseconds, a
//!   miss a fraction of one). Prefetched when made ready instead, a batch
//!   of a hundred events' processes was evicted again by the time most of
//!   them ran, and nothing was gained;
//! - the poller prefetches every event's `Readiness` before it sets any
//!   (`Poller::poll`): the misses overlap, where the loop that sets them,
//!   with a locked instruction in every turn, takes them one at a time.
//!
//! A prefetch is a hint: it never faults, whatever the address, and changes
//! nothing the program can observe but time. Elsewhere than on x86-64 it
//! does nothing (stable Rust has no portable prefetch).

/// Bytes in a cache line (x86-64 and most ARM cores).
pub(crate) const LINE: usize = 64;

/// Asks for the line holding `ptr` to be brought into every cache level,
/// for reading; see the [module docs](self).
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `prefetch` needs SSE, which every x86-64 CPU has; a
        // prefetch never faults and reads nothing the program sees.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

/// [`prefetch`]es the first `lines` cache lines from `ptr` on.
#[inline(always)]
pub(crate) fn prefetch_lines<T: ?Sized>(ptr: *const T, lines: usize) {
    let start = ptr.cast::<u8>();
    for line in 0..lines {
        prefetch(start.wrapping_add(line * LINE));
    }
}
