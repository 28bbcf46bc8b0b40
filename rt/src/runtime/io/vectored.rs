//! Vectored buffers as the kernel sees them, for both drivers: the
//! `iovec`s of a10's vectored buffer traits ([`iovecs`], [`iovecs_mut`]:
//! the poll driver passes them to `readv`, `writev`, `sendmsg`...), and
//! [`EmptyFirst`], the fix for a10's vectored writes on io_uring.
//!
//! # Why the iovecs are read
//!
//! a10's vectored traits give their buffers only as `[IoMutSlice; N]` and
//! `[IoSlice; N]`, whose fields are private. Each of those is a newtype (no
//! `repr` of its own) over a private `#[repr(transparent)]` wrapper of
//! `libc::iovec` (a10 0.4's `src/unix.rs`, which a10 itself passes to
//! `readv`/`sendmsg` as an array of iovecs). So their layout is that of
//! `libc::iovec` in practice, but only the inner type promises it. This
//! module relies on it in one place per type ([`as_iovec`],
//! [`as_iovec_mut`]) and checks it twice: the sizes and alignments are
//! asserted at compile time, and unit tests read back buffers of known
//! addresses and lengths. The alternative on the poll driver, receiving
//! into a scratch buffer and copying with the safe
//! `BufMutSlice::extend_from_slice`, costs a copy of every byte, and there
//! is no safe way at all to read a `BufSlice`'s bytes.
//!
//! # Empty buffers first
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
//! bytes are out. The poll driver's own loops count bytes and need no such
//! help.

use std::mem::{align_of, size_of};

use a10::io::{BufMutSlice, BufSlice, IoMutSlice, IoSlice};

const _: () = {
    assert!(size_of::<IoMutSlice>() == size_of::<libc::iovec>());
    assert!(align_of::<IoMutSlice>() == align_of::<libc::iovec>());
    assert!(size_of::<IoSlice>() == size_of::<libc::iovec>());
    assert!(align_of::<IoSlice>() == align_of::<libc::iovec>());
};

/// The bytes of `bufs` as iovecs, valid until `bufs` is next used.
pub(crate) fn iovecs<B: BufSlice<N>, const N: usize>(bufs: &B) -> [libc::iovec; N] {
    // SAFETY: `as_iovecs` asks that the iovecs not outlive `bufs`, which the
    // caller keeps (see above); the bytes are only read.
    let slices = unsafe { bufs.as_iovecs() };
    slices.each_ref().map(|slice| *as_iovec(slice))
}

/// The spare capacity of `bufs` as iovecs, valid until `bufs` is next used.
pub(crate) fn iovecs_mut<B: BufMutSlice<N>, const N: usize>(bufs: &mut B) -> [libc::iovec; N] {
    // SAFETY: as in `iovecs`; the kernel writes only initialised bytes to
    // the spare capacity.
    let slices = unsafe { bufs.as_iovecs_mut() };
    slices.each_ref().map(|slice| *as_iovec_mut(slice))
}

/// `slice` as the `iovec` it wraps (see the [module docs](self)).
fn as_iovec(slice: &IoSlice) -> &libc::iovec {
    // SAFETY: `IoSlice` has the size and alignment of `libc::iovec`
    // (asserted above) and wraps one (see the module docs; checked by the
    // unit tests); it is only read, for as long as `slice` is borrowed.
    unsafe { &*std::ptr::from_ref(slice).cast::<libc::iovec>() }
}

/// `slice` as the `iovec` it wraps (see the [module docs](self)).
fn as_iovec_mut(slice: &IoMutSlice) -> &libc::iovec {
    // SAFETY: as in `as_iovec`, for `IoMutSlice`.
    unsafe { &*std::ptr::from_ref(slice).cast::<libc::iovec>() }
}

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
        iovecs.sort_by_key(|iovec| as_iovec(iovec).iov_len != 0);
        iovecs
    }

    fn total_len(&self) -> usize {
        self.0.total_len()
    }
}

#[cfg(test)]
mod tests {
    use a10::io::BufSlice;

    use super::{EmptyFirst, iovecs, iovecs_mut};

    #[test]
    fn the_iovecs_of_vectored_buffers_are_their_buffers() {
        let mut bufs = (Vec::<u8>::with_capacity(7), Vec::<u8>::with_capacity(3));
        bufs.0.push(1); // The spare capacity starts after it.
        let expected = [
            (bufs.0.spare_capacity_mut().as_ptr() as usize, 6),
            (bufs.1.spare_capacity_mut().as_ptr() as usize, 3),
        ];
        let got = iovecs_mut(&mut bufs).map(|iovec| (iovec.iov_base as usize, iovec.iov_len));
        assert_eq!(got, expected);

        let bufs = [b"hello".to_vec(), b"kiln!!".to_vec()];
        let expected = [
            (bufs[0].as_ptr() as usize, 5),
            (bufs[1].as_ptr() as usize, 6),
        ];
        let got = iovecs(&bufs).map(|iovec| (iovec.iov_base as usize, iovec.iov_len));
        assert_eq!(got, expected);
    }

    #[test]
    fn empty_buffers_move_to_the_front_in_order() {
        let bufs = EmptyFirst([vec![1; 3], Vec::new(), vec![2; 5], Vec::new()]);
        assert_eq!(iovecs(&bufs).map(|iovec| iovec.iov_len), [0, 0, 3, 5]);
        assert_eq!(
            iovecs(&bufs)[2].iov_base.cast_const(),
            bufs.0[0].as_ptr().cast()
        );
        assert_eq!(bufs.total_len(), 8);
    }

    #[test]
    fn buffers_with_bytes_keep_their_places() {
        let bufs = EmptyFirst((vec![1; 4], vec![2; 6]));
        assert_eq!(iovecs(&bufs).map(|iovec| iovec.iov_len), [4, 6]);
    }
}
