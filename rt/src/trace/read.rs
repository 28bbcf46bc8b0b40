//! Reading a trace file back: [`read`] gives a [`Recording`], the events of
//! each thread in the order they were recorded.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::format::{self, RECORD, Record, padded_len};
use crate::io::driver::IoDriver;

/// A trace, read back with [`read`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Recording {
    /// When the trace started, in nanoseconds since the Unix epoch (the
    /// times of events are nanoseconds since then, on a monotonic clock).
    pub start_unix_nanos: u64,
    /// The threads that recorded events, in the order they started.
    pub threads: Vec<ThreadTrace>,
}

/// The events one thread recorded.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ThreadTrace {
    /// What the thread is.
    pub kind: ThreadKind,
    /// The thread's name.
    pub name: Arc<str>,
    /// The runtime's I/O driver ([`IoDriver::Uring`] or [`IoDriver::Poll`]),
    /// `None` in traces recorded before kiln-rt recorded it.
    pub io_driver: Option<IoDriver>,
    /// Its events, in the order they were recorded (which is the order
    /// they ended in, not always the order they started in).
    pub events: Vec<Event>,
}

/// What a thread that recorded events is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThreadKind {
    /// A worker, with its index.
    Worker(usize),
    /// The coordinator (the thread that called `Runtime::start`).
    Coordinator,
    /// A synchronous actor's thread.
    SyncActor,
}

/// Why a batch of runs ([`Event::Run`]) ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunEnd {
    /// No process was ready any more.
    NothingReady = 0,
    /// The batch used up its time slice.
    TimeSlice = 1,
    /// The batch made its maximum number of runs.
    RunLimit = 2,
    /// The batch gave way to the worker's other kind of process (thread-local
    /// or thread-safe), which had used less of the worker's time and had a
    /// process ready.
    GaveWay = 3,
}

impl fmt::Display for RunEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunEnd::NothingReady => "nothing ready",
            RunEnd::TimeSlice => "time slice used",
            RunEnd::RunLimit => "run limit reached",
            RunEnd::GaveWay => "gave way to the other kind of process",
        })
    }
}

/// An event. Times (`start`, `end`, `time`) are nanoseconds since the
/// trace started.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A process (actor or future) ran.
    Poll {
        /// The actor's id (see [`format`](super::format)).
        actor: u64,
        /// The actor's (or future's) name.
        name: Arc<str>,
        /// A thread-safe process (else thread-local).
        thread_safe: bool,
        /// The process finished in this poll.
        done: bool,
        /// When the run started.
        start: u64,
        /// When it ended.
        end: u64,
    },
    /// A batch of runs of ready processes.
    Run {
        /// Of thread-safe processes (else thread-local).
        thread_safe: bool,
        /// Why it ended.
        ended: RunEnd,
        /// How many runs it made.
        runs: u32,
        /// When it started.
        start: u64,
        /// When it ended.
        end: u64,
    },
    /// The worker ran out of work and spun, looking for more.
    Spin {
        /// It found work (else it went to sleep).
        found_work: bool,
        /// When it started.
        start: u64,
        /// When it ended.
        end: u64,
    },
    /// The worker waited in the kernel (polling its ring).
    Sleep {
        /// The longest it would wait (until its next timer), in
        /// nanoseconds; `None` without timers.
        timeout: Option<u64>,
        /// When it started.
        start: u64,
        /// When it ended.
        end: u64,
    },
    /// A busy worker polled its ring for completed I/O without waiting.
    RingPoll {
        /// When it started.
        start: u64,
        /// When it ended.
        end: u64,
    },
    /// Timers expired.
    TimersExpired {
        /// On the worker's own timing wheel.
        local: u32,
        /// On the shared timing wheel.
        shared: u64,
        /// When.
        time: u64,
    },
    /// The worker's wake-up queue overflowed and it woke every process.
    WakeAll {
        /// When.
        time: u64,
    },
    /// The coordinator relayed a process signal.
    Signal {
        /// The signal's number.
        signal: i32,
        /// The number of actors it went to.
        receivers: u32,
        /// When.
        time: u64,
    },
    /// An actor's event, from [`Trace::finish_trace`](super::Trace::finish_trace).
    User {
        /// The id of the actor that recorded it.
        actor: u64,
        /// Its description.
        description: Arc<str>,
        /// Its attributes.
        attributes: Vec<(Arc<str>, Attribute)>,
        /// When it started.
        start: u64,
        /// When it ended.
        end: u64,
    },
    /// Names an actor that runs on this thread (a synchronous actor).
    Actor {
        /// Its id.
        actor: u64,
        /// Its name.
        name: Arc<str>,
    },
}

/// The value of a user event's attribute.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Attribute {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(Arc<str>),
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attribute::Int(v) => write!(f, "{v}"),
            Attribute::Uint(v) => write!(f, "{v}"),
            Attribute::Float(v) => write!(f, "{v}"),
            Attribute::Bool(v) => write!(f, "{v}"),
            Attribute::Str(v) => f.write_str(v),
        }
    }
}

/// Reads the trace file at `path`, as written by a runtime built with
/// [`Setup::enable_tracing`](crate::Setup::enable_tracing).
///
/// Fails with [`io::ErrorKind::InvalidData`] if it is not a trace file or
/// is damaged. A chunk cut short at the end (a runtime still writing, or
/// killed) is ignored.
pub fn read(path: impl AsRef<Path>) -> io::Result<Recording> {
    let bytes = std::fs::read(path)?;
    parse(&bytes)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a kiln trace file: {what}"),
    )
}

fn parse(bytes: &[u8]) -> io::Result<Recording> {
    if bytes.len() < 16 || &bytes[..8] != format::MAGIC {
        return Err(invalid("no KILNTRC1 header"));
    }
    let mut unix = [0; 8];
    unix.copy_from_slice(&bytes[8..16]);
    let start_unix_nanos = u64::from_le_bytes(unix);

    // The records of each stream, in order.
    let mut streams: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut index: HashMap<u32, usize> = HashMap::new();
    let mut rest = &bytes[16..];
    while rest.len() >= 8 {
        let stream = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let len = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        if !len.is_multiple_of(RECORD) {
            return Err(invalid("a chunk's length is not a multiple of 32"));
        }
        let Some(records) = rest.get(8..8 + len) else {
            break; // Cut short.
        };
        let i = *index.entry(stream).or_insert_with(|| {
            streams.push((stream, Vec::new()));
            streams.len() - 1
        });
        streams[i].1.extend_from_slice(records);
        rest = &rest[8 + len..];
    }
    let threads = streams
        .into_iter()
        .map(|(_, records)| parse_stream(&records))
        .collect::<io::Result<Vec<_>>>()?;
    Ok(Recording {
        start_unix_nanos,
        threads,
    })
}

/// Parses one stream's records.
fn parse_stream(bytes: &[u8]) -> io::Result<ThreadTrace> {
    let mut strings: HashMap<u32, Arc<str>> = HashMap::new();
    let mut thread = ThreadTrace {
        kind: ThreadKind::Coordinator,
        name: Arc::from(""),
        io_driver: None,
        events: Vec::new(),
    };
    let string = |strings: &HashMap<u32, Arc<str>>, id: u32| {
        strings
            .get(&id)
            .cloned()
            .ok_or_else(|| invalid("an unknown string id"))
    };
    let mut at = 0;
    // The bytes that follow the record at `at` (strings), advancing `at`.
    let take = |at: &mut usize, len: u64| -> io::Result<&[u8]> {
        let len = usize::try_from(len).map_err(|_| invalid("a string is too long"))?;
        let data = bytes
            .get(*at..*at + len)
            .ok_or_else(|| invalid("a string runs past its stream"))?;
        *at += padded_len(len);
        Ok(data)
    };
    let text = |data: &[u8]| -> Arc<str> { Arc::from(String::from_utf8_lossy(data).as_ref()) };
    while at + RECORD <= bytes.len() {
        let r = Record::read(&bytes[at..]);
        at += RECORD;
        let event = match r.kind {
            format::THREAD => {
                thread.kind = match r.a {
                    0 => ThreadKind::Worker(r.c as usize),
                    1 => ThreadKind::Coordinator,
                    _ => ThreadKind::SyncActor,
                };
                thread.name = string(&strings, u32::try_from(r.d).unwrap_or(u32::MAX))?;
                thread.io_driver = match r.b {
                    1 => Some(IoDriver::Uring),
                    2 => Some(IoDriver::Poll),
                    _ => None,
                };
                continue;
            }
            format::STRING => {
                let data = take(&mut at, r.d)?;
                strings.insert(r.c, text(data));
                continue;
            }
            format::POLL => Event::Poll {
                actor: r.d,
                name: string(&strings, r.c)?,
                thread_safe: r.a & 1 != 0,
                done: r.a & 2 != 0,
                start: r.start,
                end: r.end,
            },
            format::RUN => Event::Run {
                thread_safe: r.a != 0,
                ended: match r.b {
                    0 => RunEnd::NothingReady,
                    1 => RunEnd::TimeSlice,
                    3 => RunEnd::GaveWay,
                    _ => RunEnd::RunLimit,
                },
                runs: r.c,
                start: r.start,
                end: r.end,
            },
            format::SPIN => Event::Spin {
                found_work: r.a != 0,
                start: r.start,
                end: r.end,
            },
            format::SLEEP => Event::Sleep {
                timeout: (r.d != u64::MAX).then_some(r.d),
                start: r.start,
                end: r.end,
            },
            format::RING_POLL => Event::RingPoll {
                start: r.start,
                end: r.end,
            },
            format::TIMERS => Event::TimersExpired {
                local: r.c,
                shared: r.d,
                time: r.start,
            },
            format::WAKE_ALL => Event::WakeAll { time: r.start },
            format::SIGNAL => Event::Signal {
                signal: i32::from(r.a),
                receivers: r.c,
                time: r.start,
            },
            format::USER => {
                let mut attributes = Vec::with_capacity(usize::from(r.b));
                for _ in 0..r.b {
                    let attr = Record::read(
                        bytes
                            .get(at..at + RECORD)
                            .ok_or_else(|| invalid("an attribute runs past its stream"))?,
                    );
                    at += RECORD;
                    if attr.kind != format::ATTR {
                        return Err(invalid("a user event misses an attribute"));
                    }
                    let value = match attr.a {
                        format::ATTR_I64 => Attribute::Int(attr.d as i64),
                        format::ATTR_U64 => Attribute::Uint(attr.d),
                        format::ATTR_F64 => Attribute::Float(f64::from_bits(attr.d)),
                        format::ATTR_BOOL => Attribute::Bool(attr.d != 0),
                        format::ATTR_STR => Attribute::Str(text(take(&mut at, attr.d)?)),
                        _ => return Err(invalid("an unknown attribute type")),
                    };
                    attributes.push((string(&strings, attr.c)?, value));
                }
                Event::User {
                    actor: r.d,
                    description: string(&strings, r.c)?,
                    attributes,
                    start: r.start,
                    end: r.end,
                }
            }
            format::ACTOR => Event::Actor {
                actor: r.d,
                name: string(&strings, r.c)?,
            },
            _ => return Err(invalid("an unknown record kind")),
        };
        thread.events.push(event);
    }
    Ok(thread)
}
