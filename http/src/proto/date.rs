//! The `Date` header's value, formatted once per second per thread (so
//! once per second per worker), as nginx and hyper do.
//!
//! Reading the clock costs a system call's worth of time (a vDSO call,
//! some 20 ns) per response; a server reads it once per batch of
//! pipelined responses ([`with_date`]) and uses the text of that read for
//! the rest of the batch ([`with_cached_date`]).

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
const LENGTH: usize = 29;

thread_local! {
    /// The second since the epoch last formatted, and its text.
    static CACHE: Cell<(u64, [u8; LENGTH])> = const { Cell::new((u64::MAX, [0; LENGTH])) };
}

/// Calls `f` with the current date as an HTTP date.
pub(crate) fn with_date<T>(f: impl FnOnce(&[u8]) -> T) -> T {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (cached, mut text) = CACHE.get();
    if cached != second {
        let formatted = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(second));
        if formatted.len() == LENGTH {
            text.copy_from_slice(formatted.as_bytes());
            CACHE.set((second, text));
        } else {
            return f(formatted.as_bytes()); // Year 10000 and beyond.
        }
    }
    f(&text)
}

/// Calls `f` with the date of this thread's last [`with_date`] call, without
/// reading the clock (reading it if there was none).
pub(crate) fn with_cached_date<T>(f: impl FnOnce(&[u8]) -> T) -> T {
    let (cached, text) = CACHE.get();
    if cached == u64::MAX {
        return with_date(f);
    }
    f(&text)
}
