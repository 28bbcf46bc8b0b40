//! The trace recorder: each runtime thread appends fixed-size records to a
//! buffer of its own and writes it to the runtime's trace file in chunks.
//! What is recorded, what it costs, and the public side (user events,
//! reading a trace) are in [`trace`](crate::trace); the file format is in
//! [`format`](crate::trace::format).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::runtime::lock::lock;
use crate::runtime::wake::{ProcessId, WakerId};
use crate::trace::RunEnd;
use crate::trace::format::{self, Record};

/// Recording threads append their buffer to the file once it holds this
/// much.
const FLUSH_BYTES: usize = 256 * 1024;
/// A worker about to sleep writes its buffer if it last wrote this long ago.
const IDLE_FLUSH: Duration = Duration::from_secs(1);

/// Whether this thread records a trace.
pub(crate) fn is_recording() -> bool {
    LOG.with(|log| log.borrow().is_some())
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

/// Records a user event of the actor running on this thread, if it records.
pub(crate) fn user_event(
    start: Instant,
    end: Instant,
    description: &str,
    attributes: &[(&str, Attribute<'_>)],
) {
    with_log(|log| log.user_event(start, end, description, attributes));
}

/// The trace file of a runtime, shared by its threads.
#[derive(Debug)]
pub(crate) struct TraceFile {
    file: Mutex<File>,
    /// Time zero of the trace.
    epoch: Instant,
    next_stream: AtomicU32,
    /// Set after a write failed (logged once; later events are dropped).
    failed: AtomicBool,
}

impl TraceFile {
    /// Creates (or truncates) the file at `path` and writes the header.
    pub(crate) fn create(path: &Path) -> io::Result<Arc<TraceFile>> {
        let mut file = File::create(path)?;
        let epoch = Instant::now();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(0));
        let mut header = Vec::with_capacity(16);
        header.extend_from_slice(format::MAGIC);
        header.extend_from_slice(&unix.to_le_bytes());
        file.write_all(&header)?;
        Ok(Arc::new(TraceFile {
            file: Mutex::new(file),
            epoch,
            next_stream: AtomicU32::new(0),
            failed: AtomicBool::new(false),
        }))
    }

    /// Appends `records` as a chunk of `stream`.
    fn write_chunk(&self, stream: u32, records: &[u8]) {
        if records.is_empty() || self.failed.load(Ordering::Relaxed) {
            return;
        }
        let Ok(len) = u32::try_from(records.len()) else {
            return;
        };
        let mut header = [0; 8];
        header[..4].copy_from_slice(&stream.to_le_bytes());
        header[4..].copy_from_slice(&len.to_le_bytes());
        let mut file = lock(&self.file);
        let result = file
            .write_all(&header)
            .and_then(|()| file.write_all(records));
        drop(file);
        if let Err(err) = result
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            log::error!("can't write the trace, recording no more events: {err}");
        }
    }
}

/// The kind of thread a stream records.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Thread {
    Worker(usize),
    Coordinator,
    SyncActor,
}

thread_local! {
    /// The recording of this thread, if it records.
    static LOG: RefCell<Option<ThreadLog>> = const { RefCell::new(None) };
    /// The id of the actor running on this thread (0: none), for its user
    /// events; a `Cell` of its own, as it is set before every poll.
    static ACTOR: Cell<u64> = const { Cell::new(0) };
}

/// Runs `f` with this thread's recording, if it records.
fn with_log(f: impl FnOnce(&mut ThreadLog)) {
    LOG.with(|log| {
        // Never re-entered: nothing called with the log borrowed calls back
        // into this module.
        if let Ok(mut log) = log.try_borrow_mut()
            && let Some(log) = log.as_mut()
        {
            f(log);
        }
    });
}

/// Makes this thread record into `file`: its events go into a stream of
/// their own, named `name`.
pub(crate) fn start_thread(file: &Arc<TraceFile>, thread: Thread, name: &str) {
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
        c: index,
        d: u64::from(name),
        start: now,
        end: now,
        ..Record::new(format::THREAD)
    });
    LOG.with(|current| *current.borrow_mut() = Some(log));
}

/// Stops recording on this thread (see [`finish_thread`]) when dropped.
pub(crate) struct StopRecording;

impl Drop for StopRecording {
    fn drop(&mut self) {
        finish_thread();
    }
}

/// Writes what this thread recorded and stops recording on it.
pub(crate) fn finish_thread() {
    let log = LOG.with(|log| log.borrow_mut().take());
    drop(log); // Flushes.
    ACTOR.with(|actor| actor.set(0));
}

/// The id of process `pid` of the scheduler with waker id `scheduler`
/// (never zero, which means no actor).
pub(crate) fn actor_id(scheduler: WakerId, pid: ProcessId) -> u64 {
    ((u64::from(scheduler) + 1) << 48) | (u64::from(pid.generation) << 32) | u64::from(pid.index)
}

/// A synchronous actor named `name` runs on this thread: gives it an id
/// (zero in the scheduler bits, then a count from 1).
pub(crate) fn sync_actor(name: &str) {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let actor = u64::from(NEXT.fetch_add(1, Ordering::Relaxed));
    ACTOR.with(|current| current.set(actor));
    with_log(|log| {
        let name = log.intern(name);
        log.push(Record {
            c: name,
            d: actor,
            ..Record::new(format::ACTOR)
        });
    });
}

/// Process `actor` is about to run on this thread.
#[inline]
pub(crate) fn poll_start(actor: u64) {
    ACTOR.with(|current| current.set(actor));
}

/// The process of the last `poll_start`, named by `name`, ran from `start`
/// to `end`.
pub(crate) fn poll_end(
    name: fn() -> &'static str,
    thread_safe: bool,
    done: bool,
    start: Instant,
    end: Instant,
) {
    let actor = ACTOR.with(|current| current.replace(0));
    with_log(|log| {
        let name = log.intern_name(name);
        let record = Record {
            a: u8::from(thread_safe) | (u8::from(done) << 1),
            c: name,
            d: actor,
            start: log.nanos(start),
            end: log.nanos(end),
            ..Record::new(format::POLL)
        };
        log.push(record);
    });
}

/// A batch of runs of thread-local (or thread-safe) processes.
pub(crate) fn run(thread_safe: bool, ended: RunEnd, runs: usize, start: Instant, end: Instant) {
    with_log(|log| {
        let record = Record {
            a: u8::from(thread_safe),
            b: ended as u16,
            c: u32::try_from(runs).unwrap_or(u32::MAX),
            start: log.nanos(start),
            end: log.nanos(end),
            ..Record::new(format::RUN)
        };
        log.push(record);
    });
}

/// The worker spun from `start` to `end`, and found work or not.
pub(crate) fn spin(found: bool, start: Instant, end: Instant) {
    span(format::SPIN, u8::from(found), 0, start, end);
}

/// The worker slept in the kernel.
pub(crate) fn sleep(timeout: Option<Duration>, start: Instant, end: Instant) {
    let timeout = timeout.map_or(u64::MAX, |t| {
        u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)
    });
    span(format::SLEEP, 0, timeout, start, end);
}

/// A busy worker polled its ring.
pub(crate) fn ring_poll(start: Instant, end: Instant) {
    span(format::RING_POLL, 0, 0, start, end);
}

/// `local` and `shared` timers expired at `now`.
pub(crate) fn timers(local: usize, shared: usize, now: Instant) {
    with_log(|log| {
        let now = log.nanos(now);
        log.push(Record {
            c: u32::try_from(local).unwrap_or(u32::MAX),
            d: shared as u64,
            start: now,
            end: now,
            ..Record::new(format::TIMERS)
        });
    });
}

/// The wake-up queue overflowed: every process was woken.
pub(crate) fn wake_all(now: Instant) {
    span(format::WAKE_ALL, 0, 0, now, now);
}

/// Signal `signal` was relayed to `receivers` actors.
pub(crate) fn signal(signal: libc::c_int, receivers: usize) {
    with_log(|log| {
        let now = log.nanos(Instant::now());
        log.push(Record {
            a: u8::try_from(signal).unwrap_or(0),
            c: u32::try_from(receivers).unwrap_or(u32::MAX),
            start: now,
            end: now,
            ..Record::new(format::SIGNAL)
        });
    });
}

/// The worker is about to sleep: writes its buffer if it waited long.
pub(crate) fn idle() {
    with_log(|log| {
        if !log.buf.is_empty() && log.last_flush.elapsed() >= IDLE_FLUSH {
            log.flush();
        }
    });
}

fn span(kind: u8, a: u8, d: u64, start: Instant, end: Instant) {
    with_log(|log| {
        let record = Record {
            a,
            d,
            start: log.nanos(start),
            end: log.nanos(end),
            ..Record::new(kind)
        };
        log.push(record);
    });
}

/// What one thread records; in its thread-local `LOG`.
struct ThreadLog {
    file: Arc<TraceFile>,
    epoch: Instant,
    stream: u32,
    /// Records not yet written.
    buf: Vec<u8>,
    /// The last few actor names looked up: `(address of the function giving
    /// the name, id)`, at `address / 16 % NAME_CACHE` (0: empty).
    name_cache: [(usize, u32); NAME_CACHE],
    /// Ids of actor names, by the address of the function giving the name.
    names: HashMap<usize, u32, BuildHasherDefault<AddressHasher>>,
    /// Ids of other strings.
    strings: HashMap<Box<str>, u32>,
    next_string: u32,
    last_flush: Instant,
}

/// Size of `ThreadLog::name_cache`.
const NAME_CACHE: usize = 64;

impl ThreadLog {
    #[inline]
    fn nanos(&self, time: Instant) -> u64 {
        let since = time.saturating_duration_since(self.epoch);
        // No `u128` (`as_nanos`): a `u64` of nanoseconds lasts 584 years.
        since
            .as_secs()
            .wrapping_mul(1_000_000_000)
            .wrapping_add(u64::from(since.subsec_nanos()))
    }

    #[inline]
    fn push(&mut self, record: Record) {
        record.write(&mut self.buf);
        if self.buf.len() >= FLUSH_BYTES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.file.write_chunk(self.stream, &self.buf);
        self.buf.clear();
        self.last_flush = Instant::now();
    }

    /// The id of the actor name `name` gives, writing it the first time.
    #[inline]
    fn intern_name(&mut self, name: fn() -> &'static str) -> u32 {
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
    fn intern(&mut self, string: &str) -> u32 {
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

    fn user_event(
        &mut self,
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
            d: ACTOR.with(Cell::get),
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
