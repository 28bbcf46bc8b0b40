//! What the system calls of the poll driver take and give: the raw parts of
//! a10's buffer traits (a buffer's spare capacity, [`spare`], its bytes,
//! [`bytes`]; the `iovec`s of vectored buffers come from
//! [`vectored`](crate::runtime::io::vectored), shared with io_uring, and
//! [`skip`] moves past the bytes already sent), and the results of system
//! calls as `io::Result`s ([`check`]).

use std::io;

use a10::io::{Buf, BufMut};

/// The spare capacity of `buf`: where to receive into, and how many bytes.
pub(crate) fn spare<B: BufMut>(buf: &mut B) -> (*mut u8, usize) {
    // SAFETY: `parts_mut` has no preconditions of its own; the caller may
    // only write initialised bytes to the pointer, which the kernel does.
    let (ptr, len) = unsafe { buf.parts_mut() };
    (ptr, len as usize)
}

/// The bytes of `buf` after the first `skip` (bytes already sent): what to
/// send, and how many.
pub(crate) fn bytes<B: Buf>(buf: &B, skip: usize) -> (*const u8, usize) {
    // SAFETY: `parts` has no preconditions of its own; the bytes are only
    // read.
    let (ptr, len) = unsafe { buf.parts() };
    let len = len as usize;
    let skip = skip.min(len);
    // SAFETY: `ptr` points to `len` bytes, so `skip` (at most `len`) bytes
    // on is inside them or just past their end.
    (unsafe { ptr.add(skip) }, len - skip)
}

/// The result of a system call that returns a count or -1 and `errno`.
pub(crate) fn check(res: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(res).map_err(|_| io::Error::last_os_error())
}

/// The result of a system call that returns 0 (or a descriptor, a count)
/// or -1 and `errno`.
pub(crate) fn check_int(res: libc::c_int) -> io::Result<libc::c_int> {
    if res == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(res)
    }
}

/// A `msghdr` with no address, no control data and no iovecs.
pub(crate) fn msghdr() -> libc::msghdr {
    // SAFETY: all zeroes is a valid `msghdr` (integers and null pointers;
    // some targets have private padding fields, hence no struct literal).
    unsafe { std::mem::zeroed() }
}

/// The bytes `iovecs` describe.
pub(crate) fn total_len(iovecs: &[libc::iovec]) -> usize {
    iovecs.iter().map(|iovec| iovec.iov_len).sum()
}

/// Skips the first `n` bytes of `iovecs` (bytes already sent); returns the
/// iovecs left.
pub(crate) fn skip(iovecs: &mut [libc::iovec], mut n: usize) -> &mut [libc::iovec] {
    let mut start = 0;
    for iovec in iovecs.iter_mut() {
        if n < iovec.iov_len {
            // SAFETY: `n` is less than the iovec's length, so the new base
            // is still inside the buffer it describes.
            iovec.iov_base = unsafe { iovec.iov_base.cast::<u8>().add(n) }.cast();
            iovec.iov_len -= n;
            break;
        }
        n -= iovec.iov_len;
        start += 1;
    }
    &mut iovecs[start..]
}

#[cfg(test)]
mod tests {
    use super::{bytes, skip, spare};
    use crate::runtime::io::vectored::iovecs;

    #[test]
    fn plain_buffers_give_their_parts() {
        let mut buf = Vec::<u8>::with_capacity(8);
        buf.extend_from_slice(b"ab");
        let (ptr, len) = spare(&mut buf);
        assert_eq!((ptr as usize, len), (buf.as_ptr() as usize + 2, 6));
        let (ptr, len) = bytes(&buf, 0);
        assert_eq!((ptr as usize, len), (buf.as_ptr() as usize, 2));
        let (ptr, len) = bytes(&buf, 1);
        assert_eq!((ptr as usize, len), (buf.as_ptr() as usize + 1, 1));
        let (_, len) = bytes(&buf, 5);
        assert_eq!(len, 0);
    }

    #[test]
    fn skipping_sent_bytes_moves_through_the_iovecs() {
        let bufs = [b"abc".to_vec(), b"defg".to_vec()];
        let mut all = iovecs(&bufs);
        let left = skip(&mut all, 4);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].iov_base as usize, bufs[1].as_ptr() as usize + 1);
        assert_eq!(left[0].iov_len, 3);
        let mut all = iovecs(&bufs);
        assert!(skip(&mut all, 7).is_empty());
        let mut all = iovecs(&bufs);
        assert_eq!(skip(&mut all, 3).len(), 1);
    }
}
