//! 11: A small Redis-compatible server: `GET`, `SET`, `DEL` and `PING` over
//! RESP2.
//!
//! The keys live in one thread-safe `store` actor, which the connections on
//! every worker reach with `ActorRef::rpc`; every command runs under a
//! one-second `Deadline` (`-ERR timeout` if it passes). `Server` starts a
//! thread-local `connection` actor per client, which reads commands with an
//! incremental RESP parser (arrays of bulk strings, and inline commands such
//! as `PING`), answers pipelined commands in order, and closes the
//! connection after a protocol error. The server gives every connection's
//! stream the idle timeout as its read and write timeout: a client that
//! sends nothing for that long, or does not read its replies, is
//! disconnected. Ctrl-C stops the servers and the store, which tells every
//! open connection to close.
//!
//! Run it, and talk to it with `redis-cli -p 7003 set a 1`:
//!
//! ```text
//! cargo run -p kiln-rt --example rt_11_redis_lite -- [address] [idle timeout in seconds] [memory budget in MiB]
//! ```
//!
//! Limits: a command has at most 1,048,576 arguments (`MAX_ARGS`) and
//! 64 MiB of them in all (`MAX_COMMAND_SIZE`; Redis allows 512 MiB per bulk
//! string); an inline command is one line of at most 64 KiB, without
//! quoting. All connections together hold at most the memory budget (the
//! third argument, in MiB; 256 by default) in their buffers: the bytes
//! received and not parsed yet, the arguments of the commands being read
//! and run, the replies not sent yet (a `kiln_rt::net::MemoryBudget`). A
//! command that would take them past it gets
//! `-ERR memory budget exceeded: ...` and its connection is closed, so
//! however many clients send large commands at once, the process holds the
//! budget plus a few MiB (the runtime, and what the allocator keeps cached
//! for reuse) plus the keys. The keys are not in the budget: clients can
//! fill the store (Redis's `maxmemory` is not implemented here).

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::io;
use std::mem::take;
use std::net::{Shutdown, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use kiln::InboxSize;
use kiln::actor::{self, NewActor};
use kiln::actor_ref::ActorGroup;
use kiln::actor_ref::RpcMessage;
use kiln::messages::Terminate;
use kiln::supervisor::{NoSupervisor, SupervisorStrategy};
use kiln::{ActorRef, actor_fn, from_message};
use kiln_rt::Spawn;
use kiln_rt::net::{BudgetExceeded, MemoryBudget, Reservation, Server, ServerError, TcpStream};
use kiln_rt::timer::{Deadline, DeadlinePassed};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, Signal, ThreadLocal, ThreadSafe};

/// How long one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// The most arguments a command may have (Redis's limit too).
const MAX_ARGS: usize = 1024 * 1024;
/// The most bytes of arguments one command may have.
const MAX_COMMAND_SIZE: usize = 64 * 1024 * 1024;
/// The longest inline command.
const MAX_INLINE: usize = 64 * 1024;
/// The longest `*<count>` or `$<length>` line.
const MAX_HEADER: usize = 32;
/// How long to read what a client still sends after the last reply.
const LINGER: Duration = Duration::from_secs(1);
/// Bytes to have room for before each receive; replies are sent once they
/// reach this size too.
const CHUNK: usize = 16 * 1024;
/// The default memory budget of all connections, in MiB.
const DEFAULT_BUDGET_MIB: usize = 256;

// ---- The RESP parser ----

/// An incremental parser of RESP2 commands: arrays of bulk strings
/// (`*2\r\n$3\r\nGET\r\n$1\r\na\r\n`) and inline commands (`GET a\r\n`).
///
/// The arguments it copies out of the input are taken from the
/// connection's share of the memory budget ([`held_by`] each); the caller
/// gives them back once the command has run.
#[derive(Debug, Default)]
struct Parser {
    /// The arguments read so far of the command being read.
    args: Vec<Vec<u8>>,
    /// Arguments of that command still to read; 0 between commands.
    missing: usize,
    /// Bytes in `args`.
    size: usize,
}

/// A command: its name and arguments.
type Command = Vec<Vec<u8>>;

/// Why the parser stopped. Final: the rest of the stream is not read.
enum Stop {
    /// Malformed input.
    Protocol(String),
    /// The command would take the connections past the memory budget.
    Budget(BudgetExceeded),
}

impl From<String> for Stop {
    fn from(why: String) -> Stop {
        Stop::Protocol(why)
    }
}

impl From<&str> for Stop {
    fn from(why: &str) -> Stop {
        Stop::Protocol(why.to_owned())
    }
}

impl From<BudgetExceeded> for Stop {
    fn from(err: BudgetExceeded) -> Stop {
        Stop::Budget(err)
    }
}

/// What an argument takes from the memory budget: its bytes and its `Vec`.
fn held_by(arg: &[u8]) -> usize {
    arg.len() + size_of::<Vec<u8>>()
}

impl Parser {
    /// Parses the start of `input`. Returns how many bytes it used (the
    /// caller drops them before the next call) and a command if one is
    /// complete; no command means it needs more bytes. The command's
    /// arguments are taken from `held`.
    fn parse(
        &mut self,
        input: &[u8],
        held: &mut Reservation,
    ) -> Result<(usize, Option<Command>), Stop> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            if self.missing == 0 {
                let max = if rest.first() == Some(&b'*') {
                    MAX_HEADER
                } else {
                    MAX_INLINE
                };
                let Some((line, n)) = line(rest, max)? else {
                    return Ok((used, None));
                };
                used += n;
                let Some(header) = line.strip_prefix(b"*") else {
                    let args = inline(line)?;
                    if args.is_empty() {
                        continue; // Redis ignores empty lines too.
                    }
                    held.try_grow(args.iter().map(|arg| held_by(arg)).sum())?;
                    return Ok((used, Some(args)));
                };
                let count = number(header)
                    .filter(|&n| n <= MAX_ARGS as i64)
                    .ok_or("invalid multibulk length")?;
                // An empty or null array is no command.
                self.missing = usize::try_from(count).unwrap_or(0);
                // Not `count`: a client must send the arguments to make us
                // allocate for them.
                self.args = Vec::with_capacity(self.missing.min(16));
            } else {
                let Some((line, n)) = line(rest, MAX_HEADER)? else {
                    return Ok((used, None));
                };
                let Some(header) = line.strip_prefix(b"$") else {
                    let got = line.first().map_or("end of line".to_owned(), |&b| {
                        format!("'{}'", [b].escape_ascii())
                    });
                    return Err(format!("expected '$', got {got}").into());
                };
                let length = number(header)
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|&n| n <= MAX_COMMAND_SIZE - self.size)
                    .ok_or("invalid bulk length")?;
                if rest.len() < n + length + 2 {
                    return Ok((used, None)); // The header is read again next time.
                }
                if &rest[n + length..n + length + 2] != b"\r\n" {
                    return Err("bulk string not followed by CRLF".into());
                }
                let arg = &rest[n..n + length];
                held.try_grow(held_by(arg))?;
                self.args.push(arg.to_vec());
                used += n + length + 2;
                self.size += length;
                self.missing -= 1;
                if self.missing == 0 {
                    self.size = 0;
                    return Ok((used, Some(take(&mut self.args))));
                }
            }
        }
    }

    /// Drops the command being read, giving its arguments back to `held`.
    fn reset(&mut self, held: &mut Reservation) {
        held.shrink(self.args.iter().map(|arg| held_by(arg)).sum());
        *self = Parser::default();
    }
}

/// The line at the start of `input` without its `\n` or `\r\n`, and its
/// length with them; `None` if it is not complete yet.
fn line(input: &[u8], max: usize) -> Result<Option<(&[u8], usize)>, String> {
    let Some(end) = input.iter().take(max + 2).position(|&b| b == b'\n') else {
        return if input.len() > max + 1 {
            Err(format!("line longer than {max} bytes"))
        } else {
            Ok(None)
        };
    };
    let line = &input[..end];
    Ok(Some((line.strip_suffix(b"\r").unwrap_or(line), end + 1)))
}

/// A decimal number of a `*` or `$` header.
fn number(digits: &[u8]) -> Option<i64> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The words of an inline command. Text only: control characters make it
/// a protocol error, so that random bytes are not taken as a command.
fn inline(line: &[u8]) -> Result<Command, String> {
    if let Some(&b) = line
        .iter()
        .find(|&&b| (b < b' ' && b != b'\t') || b == 0x7f)
    {
        return Err(format!(
            "invalid byte '{}' in inline command",
            [b].escape_ascii()
        ));
    }
    let words = line.split(|&b| b == b' ' || b == b'\t');
    Ok(words
        .filter(|w| !w.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

// ---- The store ----

/// A value; shared, so that `GET` does not copy it in the store.
type Value = Arc<[u8]>;

/// Get a key's value.
struct Get(Vec<u8>);
/// Set a key.
struct Set(Vec<u8>, Value);
/// Delete keys; answers how many existed.
struct Del(Vec<Vec<u8>>);

/// The store's messages.
enum StoreMessage {
    Get(RpcMessage<Get, Option<Value>>),
    Set(RpcMessage<Set, ()>),
    Del(RpcMessage<Del, usize>),
    /// A connection to tell when the store stops.
    Watch(ActorRef<Terminate>),
    /// Stop (Ctrl-C).
    Stop,
}

from_message!(
    StoreMessage::Get(Get) -> Option<Value>,
    StoreMessage::Set(Set) -> (),
    StoreMessage::Del(Del) -> usize,
    StoreMessage::Watch(ActorRef<Terminate>),
);

impl TryFrom<Signal> for StoreMessage {
    type Error = Signal;

    fn try_from(signal: Signal) -> Result<StoreMessage, Signal> {
        if signal.should_exit() {
            Ok(StoreMessage::Stop)
        } else {
            Err(signal)
        }
    }
}

/// Holds the keys. Thread-safe, so connections on every worker reach it.
async fn store(mut ctx: actor::Context<StoreMessage, ThreadSafe>) {
    let mut keys: HashMap<Vec<u8>, Value> = HashMap::new();
    let mut connections = ActorGroup::new([]);
    let mut prune_at = 64;
    while let Ok(msg) = ctx.receive_next().await {
        // A caller that stopped waiting (deadline passed) is not our problem.
        match msg {
            StoreMessage::Get(RpcMessage {
                request: Get(key),
                response,
            }) => {
                let _ = response.respond(keys.get(&key).cloned());
            }
            StoreMessage::Set(RpcMessage {
                request: Set(key, value),
                response,
            }) => {
                keys.insert(key, value);
                let _ = response.respond(());
            }
            StoreMessage::Del(RpcMessage {
                request: Del(names),
                response,
            }) => {
                let _ = response.respond(
                    names
                        .iter()
                        .filter(|&key| keys.remove(key).is_some())
                        .count(),
                );
            }
            StoreMessage::Watch(connection) => {
                connections.add(connection);
                if connections.len() >= prune_at {
                    connections.remove_disconnected();
                    prune_at = (connections.len() * 2).max(64);
                }
            }
            StoreMessage::Stop => break,
        }
    }
    // Tell the open connections to close (dropping the group would too:
    // their inboxes lose their last sender).
    connections.try_send_to_all(Terminate);
}

// ---- Connections ----

/// Why a command failed.
enum Failure {
    /// It took longer than `COMMAND_TIMEOUT`.
    Timeout,
    /// The store has stopped.
    Stopped,
    /// Its reply would take the connections past the memory budget.
    Budget(BudgetExceeded),
}

impl From<DeadlinePassed> for Failure {
    fn from(_: DeadlinePassed) -> Failure {
        Failure::Timeout
    }
}

impl From<BudgetExceeded> for Failure {
    fn from(err: BudgetExceeded) -> Failure {
        Failure::Budget(err)
    }
}

/// Appends `reply` to `out`, growing it within the memory budget.
fn put(out: &mut Vec<u8>, held: &mut Reservation, reply: &[u8]) -> Result<(), BudgetExceeded> {
    held.try_reserve(out, reply.len())?;
    out.extend_from_slice(reply);
    Ok(())
}

/// Appends a bulk string reply.
fn bulk(out: &mut Vec<u8>, held: &mut Reservation, value: &[u8]) -> Result<(), BudgetExceeded> {
    let header = format!("${}\r\n", value.len());
    held.try_reserve(out, header.len() + value.len() + 2)?;
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// The reply to `HELLO` (`HELLO 2`): who we are.
const HELLO: &[u8] = b"*6\r\n$6\r\nserver\r\n$10\r\nredis-lite\r\n\
    $7\r\nversion\r\n$5\r\n0.1.0\r\n$5\r\nproto\r\n:2\r\n";

/// Runs one command, appending its reply to `out` (grown within `held`);
/// returns `true` to close the connection (`QUIT`).
async fn execute(
    mut args: Command,
    store: &ActorRef<StoreMessage>,
    out: &mut Vec<u8>,
    held: &mut Reservation,
) -> Result<bool, Failure> {
    let name = args[0].to_ascii_lowercase();
    let reply: &[u8] = match (name.as_slice(), &mut args[1..]) {
        (b"ping", []) => b"+PONG\r\n",
        (b"ping" | b"echo", [message]) => {
            bulk(out, held, message)?;
            return Ok(false);
        }
        (b"get", [key]) => {
            match store
                .rpc(Get(take(key)))
                .await
                .map_err(|_| Failure::Stopped)?
            {
                Some(value) => bulk(out, held, &value)?,
                None => put(out, held, b"$-1\r\n")?,
            }
            return Ok(false);
        }
        (b"set", [key, value]) => {
            let request = Set(take(key), Value::from(take(value)));
            store.rpc(request).await.map_err(|_| Failure::Stopped)?;
            b"+OK\r\n"
        }
        // No options (`EX`, `NX`, ...).
        (b"set", [_, _, _, ..]) => b"-ERR syntax error\r\n",
        (b"del", keys @ [_, ..]) => {
            let request = Del(keys.iter_mut().map(take).collect());
            let deleted: usize = store.rpc(request).await.map_err(|_| Failure::Stopped)?;
            put(out, held, format!(":{deleted}\r\n").as_bytes())?;
            return Ok(false);
        }
        (b"ping" | b"echo" | b"get" | b"set" | b"del", _) => {
            let name = String::from_utf8_lossy(&name);
            let reply = format!("-ERR wrong number of arguments for '{name}' command\r\n");
            put(out, held, reply.as_bytes())?;
            return Ok(false);
        }
        // Enough for `redis-cli` to connect: no command docs, client
        // settings accepted, and RESP2 only.
        (b"command", _) => b"*0\r\n",
        (b"client", _) => b"+OK\r\n",
        (b"hello", []) => HELLO,
        (b"hello", [version, ..]) if version.as_slice() == b"2" => HELLO,
        (b"hello", _) => b"-NOPROTO this server speaks RESP2 only\r\n",
        (b"quit", _) => {
            put(out, held, b"+OK\r\n")?;
            return Ok(true);
        }
        _ => {
            // The name goes into a one-line reply: escaped (no CR or LF),
            // and cut short.
            let shown = args[0][..args[0].len().min(64)].escape_ascii();
            let reply = format!("-ERR unknown command '{shown}'\r\n");
            put(out, held, reply.as_bytes())?;
            return Ok(false);
        }
    };
    put(out, held, reply)?;
    Ok(false)
}

/// Sends and clears `out`. Fails with `TimedOut` if the client does not
/// read for the idle timeout (the stream's write timeout).
async fn flush(stream: &TcpStream, out: Vec<u8>) -> io::Result<Vec<u8>> {
    let mut out = stream.send_all(out).await?;
    out.clear();
    Ok(out)
}

/// Closes the connection after a last reply: stops sending, and reads what
/// the client still sends for up to a second (up to `MAX_COMMAND_SIZE`),
/// so that the kernel doesn't reset the connection, losing the reply,
/// because of unread bytes (nginx's "lingering close"). Reads into `out`,
/// within `held`.
async fn close(
    rt: &ThreadLocal,
    stream: &TcpStream,
    out: Vec<u8>,
    held: &mut Reservation,
) -> io::Result<()> {
    let mut buf = flush(stream, out).await?;
    if stream.shutdown(Shutdown::Write).await.is_err() {
        return Ok(()); // Gone already.
    }
    let deadline = Instant::now() + LINGER;
    let mut discarded = 0;
    while discarded < MAX_COMMAND_SIZE {
        buf.clear();
        if held.try_reserve(&mut buf, CHUNK).is_err() {
            break; // No memory to spare for it.
        }
        match Deadline::at(rt.clone(), deadline, stream.recv(buf)).await {
            Ok(received) if !received.is_empty() => {
                discarded += received.len();
                buf = received;
            }
            _ => break, // The client closed its side too, or gave up.
        }
    }
    Ok(())
}

/// What a connection reads into and replies from, and the share of the
/// memory budget they hold.
struct Buffers {
    parser: Parser,
    /// Received, not parsed yet.
    input: Vec<u8>,
    /// Replies not sent yet.
    out: Vec<u8>,
    held: Reservation,
}

impl Buffers {
    /// A last reply `reply` (if the budget has room for it) and the close.
    /// What was being read is dropped first: its memory is not kept for
    /// the close.
    async fn close_with(
        mut self,
        rt: &ThreadLocal,
        stream: &TcpStream,
        reply: &[u8],
    ) -> io::Result<()> {
        self.parser.reset(&mut self.held);
        self.input.clear();
        self.held.shrink_to(&mut self.input, 0);
        let _ = put(&mut self.out, &mut self.held, reply);
        close(rt, stream, self.out, &mut self.held).await
    }

    /// Refuses what would take the connections past the memory budget:
    /// `-ERR memory budget exceeded: ...` and the close.
    async fn refuse(
        self,
        rt: &ThreadLocal,
        stream: &TcpStream,
        err: BudgetExceeded,
    ) -> io::Result<()> {
        let reply = format!("-ERR {err}\r\n");
        self.close_with(rt, stream, reply.as_bytes()).await
    }
}

/// Serves one client until it closes the connection or `QUIT`s, sends a
/// malformed request or one past the memory budget, stays silent or does
/// not read for the idle timeout (the stream's timeouts), or the store
/// stops.
async fn connection(
    mut ctx: actor::Context<Terminate, ThreadLocal>,
    stream: TcpStream,
    store: ActorRef<StoreMessage>,
    budget: MemoryBudget,
) -> io::Result<()> {
    let rt = ctx.runtime_ref().clone();
    // Register for the shutdown; fails if the store has stopped already.
    let watch = async {
        store
            .send(ctx.actor_ref())
            .await
            .map_err(|_| Failure::Stopped)
    };
    if Deadline::after(rt.clone(), COMMAND_TIMEOUT, watch)
        .await
        .is_err()
    {
        return Ok(());
    }
    let mut buffers = Buffers {
        parser: Parser::default(),
        input: Vec::new(),
        out: Vec::new(),
        held: budget.reservation(),
    };
    loop {
        // Answer the complete commands received, in order.
        let mut used = 0;
        loop {
            let Buffers {
                parser,
                input,
                out,
                held,
            } = &mut buffers;
            let command = match parser.parse(&input[used..], held) {
                Ok((n, command)) => {
                    used += n;
                    command
                }
                Err(Stop::Protocol(why)) => {
                    let reply = format!("-ERR protocol error: {why}\r\n");
                    return buffers.close_with(&rt, &stream, reply.as_bytes()).await;
                }
                Err(Stop::Budget(err)) => return buffers.refuse(&rt, &stream, err).await,
            };
            let Some(args) = command else { break };
            let size = args.iter().map(|arg| held_by(arg)).sum();
            let result = Deadline::after(
                rt.clone(),
                COMMAND_TIMEOUT,
                execute(args, &store, out, held),
            )
            .await;
            held.shrink(size);
            let reply: &[u8] = match result {
                Ok(false) => b"",
                Ok(true) => return close(&rt, &stream, take(out), held).await,
                Err(Failure::Timeout) => b"-ERR timeout\r\n",
                Err(Failure::Stopped) => b"-ERR server is shutting down\r\n",
                Err(Failure::Budget(err)) => return buffers.refuse(&rt, &stream, err).await,
            };
            if let Err(err) = put(out, held, reply) {
                return buffers.refuse(&rt, &stream, err).await;
            }
            if out.len() >= CHUNK {
                *out = flush(&stream, take(out)).await?;
            }
        }
        let Buffers {
            input, out, held, ..
        } = &mut buffers;
        input.drain(..used);
        if !out.is_empty() {
            *out = flush(&stream, take(out)).await?;
        }
        // Memory back after a large command or reply (not while a command
        // is still coming).
        if input.len() < CHUNK && input.capacity() > 4 * CHUNK {
            held.shrink_to(input, 2 * CHUNK);
        }
        held.shrink_to(out, 4 * CHUNK);

        // Wait for more bytes, or the shutdown.
        let received = input.len();
        if let Err(err) = held.try_reserve(input, CHUNK) {
            return buffers.refuse(&rt, &stream, err).await;
        }
        // Fails with `TimedOut` if the client sends nothing for the idle
        // timeout (the stream's read timeout).
        let mut recv = pin!(stream.recv(take(input)));
        let result = poll_fn(|cx| {
            if let Poll::Ready(result) = recv.as_mut().poll(cx) {
                return Poll::Ready(Some(result));
            }
            // A `Terminate`, or the store is gone.
            if pin!(ctx.receive_next()).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        match result {
            Some(Ok(buf)) if buf.len() > received => *input = buf,
            // Closed by the client (perhaps in the middle of a command).
            Some(Ok(_)) => return Ok(()),
            Some(Err(err)) if err.kind() == io::ErrorKind::TimedOut => return Ok(()), // Idle.
            Some(Err(err)) => return Err(err),
            None => return Ok(()),
        }
    }
}

/// A failed connection is logged and closed; other connections go on.
fn connection_supervisor(err: io::Error) -> SupervisorStrategy<(TcpStream, SocketAddr)> {
    match err.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {}
        _ => eprintln!("connection failed: {err}"),
    }
    SupervisorStrategy::Stop
}

/// A server that can't accept (e.g. out of file descriptors) is restarted;
/// it backs off before accepting again.
fn server_supervisor(err: ServerError) -> SupervisorStrategy<()> {
    eprintln!("{err}; restarting the server");
    SupervisorStrategy::Restart(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let address: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:7003").parse()?;
    let idle = Duration::try_from_secs_f64(args.next().as_deref().unwrap_or("60").parse()?)?;
    let budget_mib: usize = match args.next() {
        Some(mib) => mib
            .parse()
            .map_err(|err| format!("memory budget '{mib}' is not a number of MiB: {err}"))?,
        None => DEFAULT_BUDGET_MIB,
    };
    let budget = MemoryBudget::new(budget_mib.saturating_mul(1024 * 1024));

    let mut runtime = Runtime::setup().use_all_cores().build()?;
    // Room for a message from many connections before they wait.
    let options = ActorOptions::default().with_inbox_size(InboxSize::fixed(1024));
    let store = runtime.spawn(NoSupervisor, actor_fn(store), (), options);
    // Ctrl-C (and SIGTERM, SIGQUIT) stop the store, and with it the
    // connections.
    runtime.receive_signals(store.clone().try_map());

    let new_actor =
        actor_fn(connection).map_arg(move |(stream, _peer): (TcpStream, SocketAddr)| {
            (stream, store.clone(), budget.clone())
        });
    let server = Server::new(
        address,
        connection_supervisor,
        new_actor,
        ActorOptions::default(),
    )?
    // A client silent, or not reading its replies, for `idle` is disconnected.
    .with_read_timeout(idle)
    .with_write_timeout(idle);
    let address = server.local_addr();

    runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
        // Binds this worker's listener.
        let server_ref =
            rt.try_spawn_local(server_supervisor, server, (), ActorOptions::default())?;
        rt.receive_signals(server_ref.try_map());
        Ok(())
    })?;
    // Every worker's listener is bound: connections queue until we start.
    println!("listening on {address}");
    runtime.start()?;
    println!("stopped");
    Ok(())
}
