//! [`ArrayBuf`]: a fixed-size array as an I/O buffer.

use std::fmt;
use std::mem::MaybeUninit;

use a10::io::{Buf, BufMut};

/// A buffer of `N` bytes stored inline (no allocation of its own), filled
/// from the front: receiving appends to it, sending sends what it holds.
///
/// Like every I/O buffer it is moved into the operation and handed back
/// with the result; while the operation runs it lives in the operation's
/// (heap-allocated) state, so the kernel never writes into a stack frame.
///
/// ```
/// use kiln_rt::io::ArrayBuf;
///
/// let mut buf = ArrayBuf::<16>::new();
/// assert_eq!(buf.extend_from_slice(b"hello"), 5);
/// assert_eq!(buf.as_slice(), b"hello");
/// buf.clear();
/// assert!(buf.is_empty());
/// ```
pub struct ArrayBuf<const N: usize> {
    bytes: [MaybeUninit<u8>; N],
    /// The first `len` bytes are initialised.
    len: usize,
}

impl<const N: usize> ArrayBuf<N> {
    /// An empty buffer.
    pub const fn new() -> ArrayBuf<N> {
        ArrayBuf {
            bytes: [MaybeUninit::uninit(); N],
            len: 0,
        }
    }

    /// The bytes it holds.
    pub fn as_slice(&self) -> &[u8] {
        let filled = &self.bytes[..self.len];
        // SAFETY: the first `len` bytes are initialised (the type's
        // invariant), and `MaybeUninit<u8>` has the layout of `u8`.
        unsafe { &*(std::ptr::from_ref(filled) as *const [u8]) }
    }

    /// Number of bytes it holds.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no bytes.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Empties it.
    pub const fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends as many of `bytes` as fit; returns how many.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(N - self.len);
        for (slot, byte) in self.bytes[self.len..self.len + n].iter_mut().zip(bytes) {
            slot.write(*byte);
        }
        self.len += n;
        n
    }
}

impl<const N: usize> Default for ArrayBuf<N> {
    fn default() -> ArrayBuf<N> {
        ArrayBuf::new()
    }
}

impl<const N: usize> From<[u8; N]> for ArrayBuf<N> {
    /// A full buffer holding `bytes`.
    fn from(bytes: [u8; N]) -> ArrayBuf<N> {
        ArrayBuf {
            bytes: bytes.map(MaybeUninit::new),
            len: N,
        }
    }
}

impl<const N: usize> fmt::Debug for ArrayBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayBuf")
            .field("capacity", &N)
            .field("bytes", &self.as_slice())
            .finish()
    }
}

// SAFETY: the buffer owns its bytes; the pointer and length describe its
// unused tail, which lives as long as the buffer (moved into the operation's
// state while the kernel uses it). `set_init` only grows `len` by bytes the
// kernel wrote.
unsafe impl<const N: usize> BufMut for ArrayBuf<N> {
    unsafe fn parts_mut(&mut self) -> (*mut u8, u32) {
        let spare = &mut self.bytes[self.len..];
        (
            spare.as_mut_ptr().cast(),
            u32::try_from(spare.len()).unwrap_or(u32::MAX),
        )
    }

    unsafe fn set_init(&mut self, n: usize) {
        self.len = (self.len + n).min(N);
    }

    fn spare_capacity(&self) -> u32 {
        u32::try_from(N - self.len).unwrap_or(u32::MAX)
    }
}

// SAFETY: the pointer and length describe the initialised bytes the buffer
// owns, which live as long as the buffer.
unsafe impl<const N: usize> Buf for ArrayBuf<N> {
    unsafe fn parts(&self) -> (*const u8, u32) {
        let slice = self.as_slice();
        (
            slice.as_ptr(),
            u32::try_from(slice.len()).unwrap_or(u32::MAX),
        )
    }
}
