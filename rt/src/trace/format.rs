//! The trace file format: how [`Setup::enable_tracing`] writes events, and
//! [`read`](super::read) reads them back.
//!
//! All integers are little endian.
//!
//! ```text
//! file   = header chunk*
//! header = "KILNTRC1" (8 bytes), start (u64: Unix time of the trace's start, ns)
//! chunk  = stream (u32), length (u32, a multiple of 32), record* (length bytes)
//! record = kind (u8), a (u8), b (u16), c (u32), d (u64), start (u64), end (u64)
//! ```
//!
//! Every thread of the runtime that records events (a worker, the
//! coordinator, a synchronous actor's thread) has a *stream* of its own: it
//! fills a buffer with 32-byte records and appends the buffer to the file as
//! a chunk when it is full, before the worker sleeps if the last write is a
//! second old, and when the thread stops. A stream's chunks are in the file
//! in the order they were written; chunks of different streams interleave.
//! `start` and `end` are nanoseconds since the trace's start, on the
//! monotonic clock (`Instant`) all threads share.
//!
//! Strings (actor names, descriptions, attribute keys, thread names) are
//! interned per stream: a `STRING` record gives a string an id, and later
//! records name it by id. A string's bytes follow its record, padded with
//! zeros to a multiple of 32 bytes.
//!
//! | kind | record | a | b | c | d | start, end |
//! |---|---|---|---|---|---|---|
//! | 1 | `THREAD`: the stream's thread (first record of a stream) | 0 worker, 1 coordinator, 2 synchronous actor | the runtime's I/O driver: 0 unknown (older traces), 1 io_uring, 2 epoll | worker index | name (string id) | when the stream started |
//! | 2 | `STRING` | | | string id | length in bytes | |
//! | 3 | `POLL`: a process ran | bit 0: thread-safe, bit 1: it finished | | actor name (string id) | actor id | the run |
//! | 4 | `RUN`: a scheduling batch | 0 thread-local, 1 thread-safe | why it ended: 0 nothing ready, 1 time slice used, 2 run limit, 3 gave way to the other kind | runs | | the batch |
//! | 5 | `SPIN`: looked for work before sleeping | 1 if it found some | | | | the spin |
//! | 6 | `SLEEP`: waited in the kernel | | | | timeout in ns, or `u64::MAX` for none | the sleep |
//! | 7 | `RING_POLL`: a busy worker polled its ring | | | | | the poll |
//! | 8 | `TIMERS`: timers expired | | | on the worker's wheel | on the shared wheel | when (start = end) |
//! | 9 | `WAKE_ALL`: the wake-up queue overflowed | | | | | when |
//! | 10 | `SIGNAL`: a signal was relayed | signal number | | receivers | | when |
//! | 11 | `USER`: an event of an actor | | number of `ATTR` records that follow | description (string id) | actor id | the event |
//! | 12 | `ACTOR`: names an actor (a synchronous actor's) | | | name (string id) | actor id | |
//! | 13 | `ATTR`: an attribute of the `USER` event before it | 0 i64, 1 u64, 2 f64, 3 bool, 4 string | | key (string id) | the value's bits; for a string its length, its bytes follow | |
//!
//! An *actor id* names a process while it lives: the top 16 bits are one
//! more than the waker id of its scheduler (a worker's, or the shared one of
//! thread-safe processes), then 16 bits of generation and 32 of slot index.
//! The id of a process that stopped can be reused, with another generation.
//! A synchronous actor's id has zeros in the top 32 bits and a count from 1
//! below. 0 is no actor (an event made outside an actor).
//!
//! [`Setup::enable_tracing`]: crate::Setup::enable_tracing

/// The first 8 bytes of a trace file.
pub(crate) const MAGIC: &[u8; 8] = b"KILNTRC1";
/// Size of a record.
pub(crate) const RECORD: usize = 32;

pub(crate) const THREAD: u8 = 1;
pub(crate) const STRING: u8 = 2;
pub(crate) const POLL: u8 = 3;
pub(crate) const RUN: u8 = 4;
pub(crate) const SPIN: u8 = 5;
pub(crate) const SLEEP: u8 = 6;
pub(crate) const RING_POLL: u8 = 7;
pub(crate) const TIMERS: u8 = 8;
pub(crate) const WAKE_ALL: u8 = 9;
pub(crate) const SIGNAL: u8 = 10;
pub(crate) const USER: u8 = 11;
pub(crate) const ACTOR: u8 = 12;
pub(crate) const ATTR: u8 = 13;

/// Attribute value types (`a` of `ATTR`).
pub(crate) const ATTR_I64: u8 = 0;
pub(crate) const ATTR_U64: u8 = 1;
pub(crate) const ATTR_F64: u8 = 2;
pub(crate) const ATTR_BOOL: u8 = 3;
pub(crate) const ATTR_STR: u8 = 4;

/// One record, before encoding.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) kind: u8,
    pub(crate) a: u8,
    pub(crate) b: u16,
    pub(crate) c: u32,
    pub(crate) d: u64,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

impl Record {
    pub(crate) const fn new(kind: u8) -> Record {
        Record {
            kind,
            a: 0,
            b: 0,
            c: 0,
            d: 0,
            start: 0,
            end: 0,
        }
    }

    /// Appends the encoded record to `buf`.
    #[inline]
    pub(crate) fn write(&self, buf: &mut Vec<u8>) {
        let mut bytes = [0; RECORD];
        bytes[0] = self.kind;
        bytes[1] = self.a;
        bytes[2..4].copy_from_slice(&self.b.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.c.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.d.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.start.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.end.to_le_bytes());
        buf.extend_from_slice(&bytes);
    }

    /// Decodes a record from `bytes`, which holds at least `RECORD` bytes.
    pub(crate) fn read(bytes: &[u8]) -> Record {
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32_at = |i: usize| {
            let mut b = [0; 4];
            b.copy_from_slice(&bytes[i..i + 4]);
            u32::from_le_bytes(b)
        };
        let u64_at = |i: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(b)
        };
        Record {
            kind: bytes[0],
            a: bytes[1],
            b: u16_at(2),
            c: u32_at(4),
            d: u64_at(8),
            start: u64_at(16),
            end: u64_at(24),
        }
    }
}

/// Appends `bytes` to `buf`, padded with zeros to a multiple of `RECORD`.
pub(crate) fn write_padded(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(bytes);
    let padding = (RECORD - bytes.len() % RECORD) % RECORD;
    buf.resize(buf.len() + padding, 0);
}

/// The number of bytes `len` bytes take, padded.
pub(crate) const fn padded_len(len: usize) -> usize {
    len.div_ceil(RECORD) * RECORD
}

#[cfg(test)]
mod tests {
    use super::{RECORD, Record, padded_len, write_padded};

    #[test]
    fn records_round_trip() {
        let record = Record {
            kind: 3,
            a: 2,
            b: 0xBEEF,
            c: 0xDEAD_BEEF,
            d: u64::MAX - 7,
            start: 12_345,
            end: 67_890,
        };
        let mut buf = Vec::new();
        record.write(&mut buf);
        assert_eq!(buf.len(), RECORD);
        assert_eq!(Record::read(&buf), record);
    }

    #[test]
    fn strings_are_padded() {
        for len in [0, 1, 31, 32, 33, 64, 100] {
            let mut buf = Vec::new();
            write_padded(&mut buf, &vec![b'x'; len]);
            assert_eq!(buf.len(), padded_len(len));
            assert_eq!(buf.len() % RECORD, 0);
        }
    }
}
