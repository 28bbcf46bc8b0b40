//! Test data in which a byte out of place shows: byte `i` of a stream is
//! `i % 251`, a prime, so the pattern never lines up with buffer or page
//! sizes.

/// Byte `i` of a stream.
pub(crate) fn byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// The first `len` bytes of a stream, varied by `seed`.
pub(crate) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| byte(i) ^ seed).collect()
}
