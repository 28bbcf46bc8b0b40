//! The abused server (the child process of the scenario) and its line
//! protocol, which the parent also uses to compute the answers it expects.
//!
//! # The protocol
//!
//! One request per line (`\n`, an optional `\r` before it is dropped), at
//! most [`MAX_LINE`] bytes; one answer line per request:
//!
//! | request | answer |
//! |---|---|
//! | `PING` | `PONG` |
//! | `ECHO <text>` | `<text>` |
//! | `ADD <a> <b>` (decimal `u64`s) | the sum, or `ERR overflow`, or `ERR ADD needs two numbers` |
//! | `QUIT` | `BYE`, then the server closes the connection |
//! | `BLOB <n>` then `n` bytes (`n` up to [`MAX_BLOB`]) | `BLOB <n> <sum of the bytes>`; past the memory budget `ERR memory budget exceeded: ...`, then the server closes the connection |
//! | `STATS`, `TRIM`, `HEAPSTART`, `HEAP` | the server's counters, memory trimming and heap accounting, see [`control`] |
//! | an empty line, not UTF-8, anything else | `ERR empty line`, `ERR not UTF-8`, `ERR unknown command` |
//! | a line longer than [`MAX_LINE`] | `ERR line too long`, then the server closes the connection |
//!
//! # The server
//!
//! A `kiln_rt::net::Server` on 127.0.0.1 (a free port) on two workers; each
//! connection is a thread-local actor ([`connection`]). The server sets
//! [`IDLE`] as every connection's read and write timeout, so every receive
//! and send is bounded without a `Deadline` around each. A blob's bytes are
//! held in memory until it is complete, within a [`MemoryBudget`] of
//! [`BLOB_BUDGET`] shared by all connections. Failed connections (timed
//! out, reset) are counted and stopped; a server whose accept fails (too
//! many open files) says so on stderr and is restarted (it backs off). The
//! runtime stops it on SIGTERM, and the process then prints its counters
//! and exits 0.

use std::convert::Infallible;
use std::io::{self, ErrorKind, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use kiln::actor::NewActor;
use kiln::actor::{self, actor_fn};
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::net::{BudgetExceeded, MemoryBudget, Reservation, Server, ServerError, TcpStream};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

use super::{BLOB_BUDGET, IDLE, MAX_BLOB, MAX_LINE, SERVER, WORKERS};
use crate::report::heap;

/// The answer to one line (without its `\n`) into `out`; returns whether
/// the connection stays open. `control` answers the control commands.
pub(super) fn respond(line: &[u8], out: &mut Vec<u8>, control: &dyn Fn(&str) -> String) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(text) = std::str::from_utf8(line) else {
        out.extend_from_slice(b"ERR not UTF-8\n");
        return true;
    };
    let (command, rest) = text.split_once(' ').unwrap_or((text, ""));
    match command {
        "PING" if rest.is_empty() => out.extend_from_slice(b"PONG\n"),
        "ECHO" => {
            out.extend_from_slice(rest.as_bytes());
            out.push(b'\n');
        }
        "ADD" => {
            let numbers: Option<Vec<u64>> =
                rest.split(' ').map(|n| n.parse::<u64>().ok()).collect();
            match numbers.as_deref() {
                Some(&[a, b]) => match a.checked_add(b) {
                    Some(sum) => out.extend_from_slice(format!("{sum}\n").as_bytes()),
                    None => out.extend_from_slice(b"ERR overflow\n"),
                },
                _ => out.extend_from_slice(b"ERR ADD needs two numbers\n"),
            }
        }
        "QUIT" if rest.is_empty() => {
            out.extend_from_slice(b"BYE\n");
            return false;
        }
        "STATS" | "TRIM" | "HEAPSTART" | "HEAP" if rest.is_empty() => {
            out.extend_from_slice(control(command).as_bytes());
            out.push(b'\n');
        }
        "" if rest.is_empty() => out.extend_from_slice(b"ERR empty line\n"),
        _ => out.extend_from_slice(b"ERR unknown command\n"),
    }
    true
}

/// A connection's line state: feeds received bytes, collects answers.
#[derive(Default)]
pub(super) struct LineReader {
    line: Vec<u8>,
    /// The blob being received, if any.
    blob: Option<Blob>,
    /// Blobs received whole.
    blobs: u64,
}

/// A blob being received: its bytes so far, and how many are still to come.
///
/// The bytes are held in chunks of [`BLOB_CHUNK`], each taken from the
/// memory budget before it is allocated: no chunk is ever reallocated, so
/// the allocator keeps no copies left behind by growth, and the process's
/// memory follows what the budget counts (a `Vec` grown by doubling left
/// up to the budget again resident in glibc's arenas).
struct Blob {
    chunks: Vec<Vec<u8>>,
    len: usize,
    left: usize,
}

/// The bytes of one chunk of a blob: below glibc's mmap threshold, so that
/// chunks come from, and go back to, the worker's arena.
const BLOB_CHUNK: usize = 64 * 1024;

impl Blob {
    /// Takes the start of `input` (up to what is left); returns how much.
    fn fill(&mut self, input: &[u8], held: &mut Reservation) -> Result<usize, BudgetExceeded> {
        let mut taken = 0;
        while taken < input.len() && self.left > 0 {
            if self
                .chunks
                .last()
                .is_none_or(|chunk| chunk.len() == BLOB_CHUNK)
            {
                held.try_grow(BLOB_CHUNK + size_of::<Vec<u8>>())?;
                self.chunks.push(Vec::with_capacity(BLOB_CHUNK));
            }
            let chunk = self.chunks.last_mut().expect("a chunk");
            let n = (BLOB_CHUNK - chunk.len())
                .min(self.left)
                .min(input.len() - taken);
            chunk.extend_from_slice(&input[taken..taken + n]);
            taken += n;
            self.left -= n;
            self.len += n;
        }
        Ok(taken)
    }

    /// The sum of the bytes.
    fn sum(&self) -> u64 {
        self.chunks.iter().flatten().map(|&b| u64::from(b)).sum()
    }

    /// Drops the bytes, giving them back to `held`.
    fn release(self, held: &mut Reservation) {
        held.shrink(self.chunks.len() * (BLOB_CHUNK + size_of::<Vec<u8>>()));
    }
}

impl LineReader {
    /// Handles `input`; returns `false` once the connection must close
    /// (after `QUIT`, or a line too long), ignoring the rest. A blob's
    /// bytes are held through `held`: a blob that would take it past its
    /// budget fails with the budget's error, and the connection must close.
    pub(super) fn feed(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        control: &dyn Fn(&str) -> String,
        held: &mut Reservation,
    ) -> Result<bool, BudgetExceeded> {
        while !input.is_empty() {
            if let Some(blob) = &mut self.blob {
                let n = blob.fill(input, held)?;
                input = &input[n..];
                if blob.left == 0 {
                    let blob = self.blob.take().expect("a blob");
                    out.extend_from_slice(format!("BLOB {} {}\n", blob.len, blob.sum()).as_bytes());
                    blob.release(held);
                    self.blobs += 1;
                }
                continue;
            }
            let byte = input[0];
            input = &input[1..];
            if byte == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                let open = match line.strip_prefix(b"BLOB ") {
                    Some(length) => self.start_blob(length, out),
                    None => respond(&line, out, control),
                };
                line.clear();
                self.line = line;
                if !open {
                    return Ok(false);
                }
            } else if self.line.len() == MAX_LINE {
                out.extend_from_slice(b"ERR line too long\n");
                return Ok(false);
            } else {
                self.line.push(byte);
            }
        }
        Ok(true)
    }

    /// `BLOB <length>`: its bytes follow the line.
    fn start_blob(&mut self, length: &[u8], out: &mut Vec<u8>) -> bool {
        let length = std::str::from_utf8(length.strip_suffix(b"\r").unwrap_or(length))
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= MAX_BLOB);
        match length {
            Some(0) => out.extend_from_slice(b"BLOB 0 0\n"),
            Some(left) => {
                self.blob = Some(Blob {
                    chunks: Vec::new(),
                    len: 0,
                    left,
                });
            }
            None => out.extend_from_slice(
                format!("ERR BLOB needs a length up to {MAX_BLOB}\n").as_bytes(),
            ),
        }
        true
    }

    /// Drops the blob being received, giving its bytes back to `held`.
    pub(super) fn drop_blob(&mut self, held: &mut Reservation) {
        if let Some(blob) = self.blob.take() {
            blob.release(held);
        }
    }
}

/// The server's counters, for `STATS` and its exit line.
static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
static TIMED_OUT: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static LINES_TOO_LONG: AtomicU64 = AtomicU64::new(0);
static SERVER_RESTARTS: AtomicU64 = AtomicU64::new(0);
static BLOBS: AtomicU64 = AtomicU64::new(0);
static BLOBS_REFUSED: AtomicU64 = AtomicU64::new(0);

/// Heap accounting since `HEAPSTART` (the stress binary's counting
/// allocator).
static HEAP: Mutex<Option<heap::Counting>> = Mutex::new(None);

fn server_stats() -> String {
    format!(
        "STATS connections {} timed-out {} failed {} too-long {} server-restarts {} blobs {} \
         blobs-refused {}",
        CONNECTIONS.load(Ordering::Relaxed),
        TIMED_OUT.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
        LINES_TOO_LONG.load(Ordering::Relaxed),
        SERVER_RESTARTS.load(Ordering::Relaxed),
        BLOBS.load(Ordering::Relaxed),
        BLOBS_REFUSED.load(Ordering::Relaxed),
    )
}

/// The control commands, for the parent's measurements:
/// - `STATS`: the counters (`STATS connections <n> timed-out <n> ...`);
/// - `TRIM`: gives the memory glibc's allocator keeps cached back to the
///   system (`malloc_trim(0)`), so that resident memory shows what is in
///   use; answers `TRIMMED`;
/// - `HEAPSTART`: starts counting heap bytes allocated and freed; answers
///   `HEAP 0`;
/// - `HEAP`: the heap bytes allocated since `HEAPSTART` and not freed
///   (`HEAP <n>`, negative if more was freed).
fn control(command: &str) -> String {
    match command {
        "STATS" => server_stats(),
        "TRIM" => {
            // SAFETY: `malloc_trim` has no preconditions.
            unsafe { libc::malloc_trim(0) };
            "TRIMMED".to_owned()
        }
        "HEAPSTART" => {
            let mut counting = HEAP.lock().unwrap_or_else(PoisonError::into_inner);
            // The old count (if any) stops before the new one starts.
            drop(counting.take());
            *counting = Some(heap::Counting::start());
            "HEAP 0".to_owned()
        }
        "HEAP" => match &*HEAP.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(counting) => format!("HEAP {}", counting.live_change()),
            None => "ERR no HEAPSTART".to_owned(),
        },
        _ => "ERR unknown command".to_owned(),
    }
}

/// The child process: the server, until SIGTERM.
pub(super) fn child_main() -> ExitCode {
    match serve() {
        Ok(()) => {
            println!("{}", server_stats());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{SERVER}: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the server until SIGTERM, see the module docs.
fn serve() -> Result<(), String> {
    let mut runtime = Runtime::setup()
        .with_name(SERVER)
        .num_threads(WORKERS)
        .build()
        .map_err(|err| format!("can't build the runtime: {err}"))?;
    let budget = MemoryBudget::new(BLOB_BUDGET);
    let new_actor =
        actor_fn(connection).map_arg(move |(stream, peer)| (stream, peer, budget.clone()));
    let server = Server::new(
        "127.0.0.1:0".parse().expect("a valid address"),
        connection_supervisor,
        new_actor,
        ActorOptions::default(),
    )
    .map_err(|err| format!("can't create the server: {err}"))?
    // Every receive and send of every connection is bounded.
    .with_read_timeout(IDLE)
    .with_write_timeout(IDLE);
    let address = server.local_addr();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
            let server_ref =
                rt.try_spawn_local(server_supervisor, server, (), ActorOptions::default())?;
            rt.receive_signals(server_ref.try_map());
            Ok(())
        })
        .map_err(|err| format!("can't start the servers: {err}"))?;
    {
        let mut stdout = io::stdout().lock();
        let _ = writeln!(stdout, "listening on {address}");
        let _ = stdout.flush();
    }
    runtime
        .start()
        .map_err(|err| format!("the runtime failed: {err}"))
}

/// A connection failed (timed out, reset, ...): counted, and closed.
fn connection_supervisor(err: io::Error) -> SupervisorStrategy<(TcpStream, SocketAddr)> {
    if err.kind() == ErrorKind::TimedOut {
        TIMED_OUT.fetch_add(1, Ordering::Relaxed);
    } else {
        FAILED.fetch_add(1, Ordering::Relaxed);
    }
    SupervisorStrategy::Stop
}

/// Accepting failed (too many open files): the server is restarted, and
/// backs off.
fn server_supervisor(err: ServerError) -> SupervisorStrategy<()> {
    SERVER_RESTARTS.fetch_add(1, Ordering::Relaxed);
    eprintln!("{err}; restarting the server");
    SupervisorStrategy::Restart(())
}

/// A connection: answers lines until the client closes, sends `QUIT`, a
/// line too long or a blob past the memory budget, or is idle (not
/// sending, or not reading) for [`IDLE`]: the stream's timeouts.
async fn connection(
    _: actor::Context<Infallible, ThreadLocal>,
    stream: TcpStream,
    _peer: SocketAddr,
    budget: MemoryBudget,
) -> io::Result<()> {
    CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let mut held = budget.reservation();
    let mut reader = LineReader::default();
    let mut buf = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(4096);
    loop {
        buf.clear();
        buf = stream.recv(buf).await?;
        if buf.is_empty() {
            return Ok(()); // The client closed its side.
        }
        let blobs = reader.blobs;
        let open = match reader.feed(&buf, &mut out, &control, &mut held) {
            Ok(open) => open,
            Err(err) => {
                BLOBS_REFUSED.fetch_add(1, Ordering::Relaxed);
                reader.drop_blob(&mut held);
                out.extend_from_slice(format!("ERR {err}\n").as_bytes());
                false
            }
        };
        BLOBS.fetch_add(reader.blobs - blobs, Ordering::Relaxed);
        if !out.is_empty() {
            out = stream.send_all(out).await?;
            out.clear();
        }
        if !open {
            if reader.line.len() == MAX_LINE {
                LINES_TOO_LONG.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }
    }
}
