//! Vectored writes that a10 gets wrong when the last buffer is empty.
//!
//! a10 0.4.3's `write_all_vectored` and `send_all_vectored` decide that
//! everything was written when, after skipping the bytes written so far, the
//! *last* iovec is empty. That holds only if the last buffer had bytes to
//! begin with. With an empty last buffer (`[head, body]` with no body, or a
//! stream's final pieces cut short) a short write (a full pipe, a full
//! socket buffer) ends the operation early: it reports success, and the
//! rest of the bytes are never written. [`EmptyFirst`] hands a10 the same
//! buffers with the empty ones moved to the front, where they are skipped
//! like bytes already written, so the last iovec is empty only when all
//! bytes are out.
//!
//! # Why the iovecs are read
//!
//! a10 gives a vectored buffer's parts only as `[IoSlice; N]`, whose length
//! is private. Each `IoSlice` is a newtype over a private
//! `#[repr(transparent)]` wrapper of `libc::iovec` (a10 0.4's `unix.rs`; a10
//! itself hands an array of them to the kernel as iovecs), so [`is_empty`]
//! reads the length through `libc::iovec`. The size and alignment are
//! asserted at compile time, and a unit test reads back buffers of known
//! lengths.

use std::mem::{align_of, size_of};

use a10::io::{BufSlice, IoSlice};

const _: () = {
    assert!(size_of::<IoSlice>() == size_of::<libc::iovec>());
    assert!(align_of::<IoSlice>() == align_of::<libc::iovec>());
};

/// Buffers to write whole, handed to a10 with the empty ones first (see the
/// [module docs](self)).
pub(crate) struct EmptyFirst<B>(pub(crate) B);

// SAFETY: the iovecs are `B`'s own, valid as long as `B` is (which is what
// `BufSlice` asks); only their order changes, and the empty ones, which
// carry no bytes, are the only ones moved ahead of others.
unsafe impl<B: BufSlice<N>, const N: usize> BufSlice<N> for EmptyFirst<B> {
    unsafe fn as_iovecs(&self) -> [IoSlice; N] {
        // SAFETY: the caller keeps the promise of `as_iovecs` for `self`,
        // which holds `self.0`.
        let mut iovecs = unsafe { self.0.as_iovecs() };
        // A stable sort: the buffers with bytes keep their order.
        iovecs.sort_by_key(|iovec| !is_empty(iovec));
        iovecs
    }

    fn total_len(&self) -> usize {
        self.0.total_len()
    }
}

/// Whether `iovec` has no bytes.
fn is_empty(iovec: &IoSlice) -> bool {
    // SAFETY: `IoSlice` has the size and alignment of `libc::iovec` (asserted
    // above) and is one (see the module docs; checked by a unit test); the
    // length is only read.
    let raw = unsafe { &*std::ptr::from_ref(iovec).cast::<libc::iovec>() };
    raw.iov_len == 0
}

#[cfg(test)]
mod tests {
    use a10::io::BufSlice;

    use super::EmptyFirst;

    /// The lengths of the iovecs, as the kernel would read them.
    fn lens<B: BufSlice<N>, const N: usize>(bufs: &B) -> [usize; N] {
        // SAFETY: `bufs` outlives the iovecs, which are only read here.
        let iovecs = unsafe { bufs.as_iovecs() };
        iovecs.map(|iovec| {
            // SAFETY: see `is_empty`.
            let raw = unsafe { &*std::ptr::from_ref(&iovec).cast::<libc::iovec>() };
            raw.iov_len
        })
    }

    #[test]
    fn empty_buffers_move_to_the_front_in_order() {
        let bufs = EmptyFirst([vec![1; 3], Vec::new(), vec![2; 5], Vec::new()]);
        assert_eq!(lens(&bufs), [0, 0, 3, 5]);
        // SAFETY: `bufs` outlives the iovecs.
        let iovecs = unsafe { bufs.as_iovecs() };
        let first = std::ptr::from_ref(&iovecs[2]).cast::<libc::iovec>();
        // SAFETY: see `is_empty`.
        let base = unsafe { (*first).iov_base };
        assert_eq!(base.cast_const(), bufs.0[0].as_ptr().cast());
        assert_eq!(bufs.total_len(), 8);
    }

    #[test]
    fn buffers_with_bytes_keep_their_places() {
        let bufs = EmptyFirst((vec![1; 4], vec![2; 6]));
        assert_eq!(lens(&bufs), [4, 6]);
    }
}
