//! [`ThreadLog`]: what one thread records, buffered, with the names it
//! interned; written to the [`TraceFile`] in chunks.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::io::driver::IoDriver;
use crate::runtime::trace::file::TraceFile;
use crate::trace::format::{self, Record};

/// Recording threads append their buffer to the file once it holds this
/// much.
const FLUSH_BYTES: usize = 256 * 1024;
/// A worker about to sleep writes its buffer if it last wrote this long ago.
pub(crate) const IDLE_FLUSH: Duration = Duration::from_secs(1);

/// The kind of thread a stream records.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Thread {
    Worker(usize),
    Coordinator,
    SyncActor,
}

/// An attribute of a user event, as the file stores it: its kind
/// (`format::ATTR_*`), its bits, and for a string the string.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Attribute<'a> {
    kind: u8,
    bits: u64,
    string: Option<&'a str>,
}

impl<'a> Attribute<'a> {
    pub(crate) const fn number(kind: u8, bits: u64) -> Attribute<'a> {
        Attribute {
            kind,
            bits,
            string: None,
        }
    }

    pub(crate) const fn string(string: &'a str) -> Attribute<'a> {
        Attribute {
            kind: format::ATTR_STR,
            bits: string.len() as u64,
            string: Some(string),
        }
    }
}

/// What one thread records; in the thread's context.
pub(crate) struct ThreadLog {
    file: Arc<TraceFile>,
    epoch: Instant,
    stream: u32,
    /// Records not yet written.
    pub(crate) buf: Vec<u8>,
    /// The last few actor names looked up: `(address of the function giving
    /// the name, id)`, at `address / 16 % NAME_CACHE` (0: empty).
    name_cache: [(usize, u32); NAME_CACHE],
    /// Ids of actor names, by the address of the function giving the name.
    names: HashMap<usize, u32, BuildHasherDefault<AddressHasher>>,
    /// Ids of other strings.
    strings: HashMap<Box<str>, u32>,
    next_string: u32,
    pub(crate) last_flush: Instant,
}

/// Size of `ThreadLog::name_cache`.
const NAME_CACHE: usize = 64;

impl ThreadLog {
    /// Starts recording a thread of kind `thread` named `name`, of a runtime
    /// on `driver`, into `file`, in a stream of its own.
    pub(crate) fn new(
        file: &Arc<TraceFile>,
        thread: Thread,
        name: &str,
        driver: IoDriver,
    ) -> ThreadLog {
        let stream = file.next_stream.fetch_add(1, Ordering::Relaxed);
        let mut log = ThreadLog {
            file: file.clone(),
            epoch: file.epoch,
            stream,
            buf: Vec::with_capacity(FLUSH_BYTES + 4 * format::RECORD),
            name_cache: [(0, 0); NAME_CACHE],
            names: HashMap::default(),
            strings: HashMap::new(),
            next_string: 0,
            last_flush: Instant::now(),
        };
        let name = log.intern(name);
        let (kind, index) = match thread {
            Thread::Worker(index) => (0, u32::try_from(index).unwrap_or(u32::MAX)),
            Thread::Coordinator => (1, 0),
            Thread::SyncActor => (2, 0),
        };
        let now = log.nanos(Instant::now());
        log.push(Record {
            a: kind,
            b: match driver {
                IoDriver::Uring => 1,
                IoDriver::Poll => 2,
                _ => 0,
            },
            c: index,
            d: u64::from(name),
            start: now,
            end: now,
            ..Record::new(format::THREAD)
        });
        log
    }

    #[inline]
    pub(crate) fn nanos(&self, time: Instant) -> u64 {
        let since = time.saturating_duration_since(self.epoch);
        // No `u128` (`as_nanos`): a `u64` of nanoseconds lasts 584 years.
        since
            .as_secs()
            .wrapping_mul(1_000_000_000)
            .wrapping_add(u64::from(since.subsec_nanos()))
    }

    #[inline]
    pub(crate) fn push(&mut self, record: Record) {
        record.write(&mut self.buf);
        if self.buf.len() >= FLUSH_BYTES {
            self.flush();
        }
    }

    pub(crate) fn flush(&mut self) {
        self.file.write_chunk(self.stream, &self.buf);
        self.buf.clear();
        self.last_flush = Instant::now();
    }

    /// The id of the actor name `name` gives, writing it the first time.
    #[inline]
    pub(crate) fn intern_name(&mut self, name: fn() -> &'static str) -> u32 {
        let address = name as usize;
        let slot = (address >> 4) % NAME_CACHE;
        let (cached, id) = self.name_cache[slot];
        if cached == address {
            return id;
        }
        let id = match self.names.get(&address) {
            Some(&id) => id,
            None => {
                let id = self.new_string(name());
                self.names.insert(address, id);
                id
            }
        };
        self.name_cache[slot] = (address, id);
        id
    }

    /// The id of `string`, writing it the first time.
    pub(crate) fn intern(&mut self, string: &str) -> u32 {
        if let Some(&id) = self.strings.get(string) {
            return id;
        }
        let id = self.new_string(string);
        self.strings.insert(string.into(), id);
        id
    }

    fn new_string(&mut self, string: &str) -> u32 {
        let id = self.next_string;
        self.next_string += 1;
        Record {
            c: id,
            d: string.len() as u64,
            ..Record::new(format::STRING)
        }
        .write(&mut self.buf);
        format::write_padded(&mut self.buf, string.as_bytes());
        id
    }

    /// Records a user event of actor `actor`.
    pub(crate) fn user_event(
        &mut self,
        actor: u64,
        start: Instant,
        end: Instant,
        description: &str,
        attributes: &[(&str, Attribute<'_>)],
    ) {
        let description = self.intern(description);
        let keys: Vec<u32> = attributes.iter().map(|(key, _)| self.intern(key)).collect();
        Record {
            b: u16::try_from(attributes.len()).unwrap_or(u16::MAX),
            c: description,
            d: actor,
            start: self.nanos(start),
            end: self.nanos(end),
            ..Record::new(format::USER)
        }
        .write(&mut self.buf);
        for (&key, (_, value)) in keys.iter().zip(attributes).take(usize::from(u16::MAX)) {
            Record {
                a: value.kind,
                c: key,
                d: value.bits,
                ..Record::new(format::ATTR)
            }
            .write(&mut self.buf);
            if let Some(string) = value.string {
                format::write_padded(&mut self.buf, string.as_bytes());
            }
        }
        if self.buf.len() >= FLUSH_BYTES {
            self.flush();
        }
    }
}

impl Drop for ThreadLog {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Hashes a function's address: a multiplication (Fibonacci hashing), as
/// addresses are already unique.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 << 8 | u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
