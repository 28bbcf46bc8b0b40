//! Runs example 11 (`rt_11_redis_lite`) and talks RESP to it over loopback
//! with a client written here on std's `TcpStream`: exact replies, binary
//! values, concurrent and pipelining clients, clients that misbehave (close
//! mid-command, send garbage, stay silent, never read, send huge commands
//! past the memory budget), and the stop on SIGINT.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

mod util;

use util::clients::send_until_closed;
use util::server::ServerExample;
use util::timeout::TIMEOUT;

/// The example running as a child process; killed if the test fails.
struct Server {
    example: ServerExample,
    address: SocketAddr,
}

impl Server {
    /// Starts the example on a free loopback port with an idle timeout of
    /// `idle` seconds.
    fn start(idle: &str) -> Server {
        Server::start_with(&[idle])
    }

    /// Starts the example on a free loopback port with `args` after the
    /// address (the idle timeout, the memory budget).
    fn start_with(args: &[&str]) -> Server {
        let args: Vec<&str> = ["127.0.0.1:0"].iter().chain(args).copied().collect();
        let example = ServerExample::start("rt_11_redis_lite", &args, &[]);
        let address = example.address;
        Server { example, address }
    }

    fn connect(&self) -> Client {
        Client::connect(self.address)
    }

    /// Stops the example with SIGINT and checks it prints `stopped`, exits
    /// with 0 and printed no error.
    fn stop(self) {
        self.example.stop(libc::SIGINT, TIMEOUT);
    }
}

/// A command in RESP: an array of bulk strings.
fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A bulk string reply.
fn bulk(value: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", value.len()).into_bytes();
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    out
}

/// A RESP client on a blocking socket.
struct Client {
    stream: TcpStream,
}

impl Client {
    fn connect(address: SocketAddr) -> Client {
        let stream = TcpStream::connect(address).expect("can't connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client { stream }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("can't send");
    }

    /// Reads exactly `expected.len()` bytes and compares them.
    #[track_caller]
    fn expect(&mut self, expected: &[u8]) {
        let mut got = vec![0; expected.len()];
        if let Err(err) = self.stream.read_exact(&mut got) {
            panic!("no reply {:?}: {err}", expected.escape_ascii().to_string());
        }
        assert_eq!(
            got.escape_ascii().to_string(),
            expected.escape_ascii().to_string()
        );
    }

    /// Sends a command and checks its reply.
    #[track_caller]
    fn call(&mut self, args: &[&[u8]], expected: &[u8]) {
        self.send(&command(args));
        self.expect(expected);
    }

    /// Waits for the server to close the connection, with nothing else
    /// sent first.
    #[track_caller]
    fn expect_closed(&mut self) {
        let mut buf = [0; 256];
        match self.stream.read(&mut buf) {
            Ok(0) => {}
            Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
            Ok(n) => panic!(
                "unexpected bytes: {:?}",
                buf[..n].escape_ascii().to_string()
            ),
            Err(err) => panic!("connection not closed: {err}"),
        }
    }
}

#[test]
fn set_get_del_round_trips() {
    let server = Server::start("60");
    let mut client = server.connect();
    client.call(&[b"GET", b"k"], b"$-1\r\n");
    client.call(&[b"SET", b"k", b"a"], b"+OK\r\n");
    client.call(&[b"GET", b"k"], b"$1\r\na\r\n");
    client.call(&[b"set", b"k", b"bc"], b"+OK\r\n");
    client.call(&[b"get", b"k"], b"$2\r\nbc\r\n");
    client.call(&[b"DEL", b"k"], b":1\r\n");
    client.call(&[b"DEL", b"k"], b":0\r\n");
    client.call(&[b"GET", b"k"], b"$-1\r\n");
    client.call(&[b"SET", b"x", b""], b"+OK\r\n");
    client.call(&[b"GET", b"x"], b"$0\r\n\r\n");
    client.call(&[b"SET", b"y", b"1"], b"+OK\r\n");
    client.call(&[b"DEL", b"x", b"y", b"z"], b":2\r\n");
    // Values are shared by all connections.
    let mut other = server.connect();
    client.call(&[b"SET", b"shared", b"v"], b"+OK\r\n");
    other.call(&[b"GET", b"shared"], b"$1\r\nv\r\n");

    client.call(&[b"PING"], b"+PONG\r\n");
    client.call(&[b"PING", b"hi"], b"$2\r\nhi\r\n");
    client.call(&[b"ECHO", b"hey"], b"$3\r\nhey\r\n");
    client.call(&[b"FLUSHALL"], b"-ERR unknown command 'FLUSHALL'\r\n");
    client.call(&[b"x\r\ny'"], b"-ERR unknown command 'x\\r\\ny\\''\r\n");
    client.call(
        &[b"GET"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    client.call(
        &[b"SET", b"k"],
        b"-ERR wrong number of arguments for 'set' command\r\n",
    );
    client.call(&[b"SET", b"k", b"v", b"NX"], b"-ERR syntax error\r\n");
    client.call(
        &[b"DEL"],
        b"-ERR wrong number of arguments for 'del' command\r\n",
    );
    // What `redis-cli` asks when it connects.
    client.call(&[b"COMMAND", b"DOCS"], b"*0\r\n");
    client.call(&[b"CLIENT", b"SETINFO", b"LIB-NAME", b"test"], b"+OK\r\n");
    client.call(
        &[b"HELLO", b"2"],
        b"*6\r\n$6\r\nserver\r\n$10\r\nredis-lite\r\n$7\r\nversion\r\n$5\r\n0.1.0\r\n\
          $5\r\nproto\r\n:2\r\n",
    );
    client.call(
        &[b"HELLO", b"3"],
        b"-NOPROTO this server speaks RESP2 only\r\n",
    );
    // Inline commands, empty lines and empty arrays are skipped.
    client.send(b"PING\r\n\r\n*0\r\nset  inline\tvalue\nGET inline\r\n");
    client.expect(b"+PONG\r\n+OK\r\n$5\r\nvalue\r\n");
    client.call(&[b"QUIT"], b"+OK\r\n");
    client.expect_closed();
    other.call(&[b"GET", b"inline"], b"$5\r\nvalue\r\n");
    server.stop();
}

#[test]
fn binary_values_round_trip() {
    let server = Server::start("60");
    let mut client = server.connect();
    let all_bytes: Vec<u8> = (0..=255).chain([b'\r', b'\n', b'\r', b'\n']).collect();
    let key = b"key\r\nwith\0bytes\xff";
    client.call(
        &[key, &all_bytes],
        b"-ERR unknown command 'key\\r\\nwith\\x00bytes\\xff'\r\n",
    );
    client.call(&[b"SET", key, &all_bytes], b"+OK\r\n");
    client.call(&[b"GET", key], &bulk(&all_bytes));
    // A value that looks like RESP.
    let resp = command(&[b"SET", b"a", b"b"]);
    client.call(&[b"SET", b"resp", &resp], b"+OK\r\n");
    client.call(&[b"GET", b"resp"], &bulk(&resp));
    // A large value: many receives on the server.
    let large: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    client.call(&[b"SET", b"large", &large], b"+OK\r\n");
    client.call(&[b"GET", b"large"], &bulk(&large));
    client.call(&[b"DEL", key, b"resp", b"large"], b":3\r\n");
    server.stop();
}

#[test]
fn concurrent_clients() {
    const CLIENTS: usize = 50;
    const KEYS: usize = 20;
    let server = Server::start("60");
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            // Connected here: a thread that failed to connect would leave the
            // others waiting at the barrier.
            let mut client = server.connect();
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                for k in 0..KEYS {
                    let key = format!("client-{c}-key-{k}");
                    let value = format!("value {c} {k}").repeat(k + 1);
                    client.call(&[b"SET", key.as_bytes(), value.as_bytes()], b"+OK\r\n");
                }
                for k in 0..KEYS {
                    let key = format!("client-{c}-key-{k}");
                    let value = format!("value {c} {k}").repeat(k + 1);
                    client.call(&[b"GET", key.as_bytes()], &bulk(value.as_bytes()));
                }
                for k in (0..KEYS).step_by(2) {
                    let key = format!("client-{c}-key-{k}");
                    client.call(&[b"DEL", key.as_bytes()], b":1\r\n");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client failed");
    }
    // Every client's keys, as they left them.
    let mut client = server.connect();
    for c in 0..CLIENTS {
        for k in 0..KEYS {
            let key = format!("client-{c}-key-{k}");
            if k.is_multiple_of(2) {
                client.call(&[b"GET", key.as_bytes()], b"$-1\r\n");
            } else {
                let value = format!("value {c} {k}").repeat(k + 1);
                client.call(&[b"GET", key.as_bytes()], &bulk(value.as_bytes()));
            }
        }
    }
    server.stop();
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let server = Server::start("60");
    let mut client = server.connect();
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..5 {
        let value = format!("v{i}");
        request.extend(command(&[b"SET", b"p", value.as_bytes()]));
        expected.extend_from_slice(b"+OK\r\n");
        request.extend(command(&[b"GET", b"p"]));
        expected.extend(bulk(value.as_bytes()));
    }
    client.send(&request); // 10 commands in one write.
    client.expect(&expected);

    // 1,000 commands in one write: more replies than the server sends at once.
    let value = vec![b'x'; 100];
    let request = command(&[b"GET", b"big"]).repeat(1000);
    client.call(&[b"SET", b"big", &value], b"+OK\r\n");
    client.send(&request);
    client.expect(&bulk(&value).repeat(1000));

    // A command a byte at a time, then two commands in one write with a
    // third cut in the middle.
    for byte in command(&[b"SET", b"slow", b"ly"]) {
        client.send(&[byte]);
        thread::sleep(Duration::from_millis(1));
    }
    client.expect(b"+OK\r\n");
    let request = [
        command(&[b"GET", b"slow"]),
        command(&[b"PING"]),
        command(&[b"GET", b"slow"]),
    ]
    .concat();
    let (first, second) = request.split_at(request.len() - 7);
    client.send(first);
    client.expect(b"$2\r\nly\r\n+PONG\r\n");
    client.send(second);
    client.expect(b"$2\r\nly\r\n");
    server.stop();
}

#[test]
fn client_closing_mid_request() {
    let server = Server::start("60");
    let mut keeper = server.connect();
    keeper.call(&[b"SET", b"k", b"before"], b"+OK\r\n");
    let partial = command(&[b"SET", b"k", b"after"]);
    for cut in [1, 4, 13, 20, partial.len() - 3, partial.len() - 1] {
        let mut client = server.connect();
        client.send(&partial[..cut]);
        drop(client);
    }
    // Half-closed: the server sees the end of the stream.
    let mut client = server.connect();
    client.send(&partial[..20]);
    client.stream.shutdown(Shutdown::Write).unwrap();
    client.expect_closed();
    // Commands before the cut are answered.
    let mut client = server.connect();
    client.send(&[command(&[b"PING"]), partial[..10].to_vec()].concat());
    client.expect(b"+PONG\r\n");
    drop(client);

    // Nothing was set; the server serves old and new clients.
    keeper.call(&[b"GET", b"k"], b"$6\r\nbefore\r\n");
    let mut client = server.connect();
    client.call(&[b"SET", b"k", b"new"], b"+OK\r\n");
    keeper.call(&[b"GET", b"k"], b"$3\r\nnew\r\n");
    server.stop();
}

#[test]
fn garbage_is_a_protocol_error() {
    let server = Server::start("60");
    let mut keeper = server.connect();
    keeper.call(&[b"SET", b"k", b"v"], b"+OK\r\n");
    let long_line = [b"*1\r\n$".as_slice(), &[b'9'; 40]].concat();
    let long_inline = vec![b'a'; 70 * 1024];
    let cases: [(&[u8], &[u8]); 10] = [
        (
            b"\x00\x01\xfe\xff garbage\r\n",
            b"invalid byte '\\x00' in inline command",
        ),
        (b"GET\x7f k\r\n", b"invalid byte '\\x7f' in inline command"),
        (b"*abc\r\n", b"invalid multibulk length"),
        (b"*2000000\r\n", b"invalid multibulk length"),
        (b"*2\r\n$3\r\nGET\r\n:12\r\n", b"expected '$', got ':'"),
        (b"*2\r\n$3\r\nGET\r\n\r\n", b"expected '$', got end of line"),
        (b"*1\r\n$-1\r\n", b"invalid bulk length"),
        // One byte over the documented limit of 64 MiB per command.
        (b"*2\r\n$3\r\nGET\r\n$67108862\r\n", b"invalid bulk length"),
        (b"*1\r\n$4\r\nPINGxx", b"bulk string not followed by CRLF"),
        (&long_line, b"line longer than 32 bytes"),
    ];
    for (garbage, why) in cases.iter().copied().chain([(
        long_inline.as_slice(),
        b"line longer than 65536 bytes".as_slice(),
    )]) {
        let mut client = server.connect();
        client.send(&[command(&[b"PING"]), garbage.to_vec()].concat());
        client.expect(&[b"+PONG\r\n-ERR protocol error: ", why, b"\r\n"].concat());
        client.expect_closed();
    }
    keeper.call(&[b"GET", b"k"], b"$1\r\nv\r\n");
    server.connect().call(&[b"PING"], b"+PONG\r\n");
    server.stop();
}

#[test]
fn silent_clients_are_disconnected() {
    let server = Server::start("2");
    let start = Instant::now();
    let mut silent = server.connect();
    let mut partial = server.connect();
    partial.send(b"*2\r\n$3\r\nGET\r\n");
    // A client that sends a command every half second stays connected.
    let mut active = server.connect();
    while start.elapsed() < Duration::from_secs(3) {
        active.call(&[b"PING"], b"+PONG\r\n");
        thread::sleep(Duration::from_millis(500));
    }
    silent.expect_closed();
    partial.expect_closed();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(2),
        "closed after {elapsed:?}"
    );
    active.call(&[b"PING"], b"+PONG\r\n");

    // Measured alone: closed after two seconds, not much later.
    let start = Instant::now();
    server.connect().expect_closed();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1990) && elapsed < Duration::from_secs(8),
        "closed after {elapsed:?}"
    );
    server.stop();
}

#[test]
fn sigint_closes_connections_and_stops() {
    let server = Server::start("60");
    let mut idle = server.connect();
    idle.call(&[b"PING"], b"+PONG\r\n");
    let mut partial = server.connect();
    partial.send(b"*2\r\n$3\r\nGET");
    // The connection is registered once it answers.
    let mut other = server.connect();
    other.call(&[b"PING"], b"+PONG\r\n");
    let mut unanswered = server.connect();
    server.stop();
    idle.expect_closed();
    partial.expect_closed();
    other.expect_closed();
    unanswered.expect_closed();
}

#[test]
fn clients_that_never_read_are_disconnected() {
    let server = Server::start("2");
    let mut client = server.connect();
    let value = vec![b'v'; 1024 * 1024];
    client.call(&[b"SET", b"big", &value], b"+OK\r\n");
    // Asks for the value again and again and never reads: the replies fill
    // the socket buffers, and the server's send waits for the write
    // timeout.
    let mut deaf = TcpStream::connect(server.address).unwrap();
    let request = command(&[b"GET", b"big"]);
    let start = Instant::now();
    let (closed, _) = send_until_closed(&mut deaf, &request, || {
        start.elapsed() > Duration::from_secs(10)
    });
    let closed = closed.expect("a client that never reads is still connected 10 s later");
    assert!(closed >= Duration::from_secs(2), "closed after {closed:?}");
    // `client` was idle as long: disconnected too. Others are served.
    client.expect_closed();
    server.connect().call(&[b"PING"], b"+PONG\r\n");
    server.stop();
}

/// The example's resident memory now and at its peak, in bytes (`VmRSS`
/// and `VmHWM` of `/proc/<pid>/status`).
fn resident(pid: libc::pid_t) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("can't read /proc/<pid>/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().strip_suffix(" kB"))
            .and_then(|kib| kib.trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// How a client that sent most of a huge command fared.
#[derive(Debug, PartialEq)]
enum Huge {
    /// Refused with `-ERR memory budget exceeded` and disconnected.
    Refused,
    /// Still connected, its command still coming: within the budget.
    Held,
}

#[test]
fn huge_unfinished_commands_stay_within_the_memory_budget() {
    const MIB: u64 = 1024 * 1024;
    /// The memory budget given to the example.
    const BUDGET: u64 = 32 * MIB;
    /// Clients, and the part of a 60 MiB value each sends before stopping.
    const CLIENTS: usize = 40;
    const SENT: usize = 4 * 1024 * 1024;
    /// Resident memory the example may have on top of its baseline and the
    /// budget: what the allocator keeps around the buffers, with room to
    /// spare (measured: the peak stays below baseline + budget).
    const SLACK: u64 = 16 * MIB;

    let server = Server::start_with(&["60", &(BUDGET / MIB).to_string()]);
    let pid = server.example.pid();
    server.connect().call(&[b"PING"], b"+PONG\r\n");
    let (baseline, _) = resident(pid);

    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let address = server.address;
            let barrier = barrier.clone();
            thread::spawn(move || {
                let mut stream = TcpStream::connect(address).expect("can't connect");
                stream
                    .set_write_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut request = b"*3\r\n$3\r\nSET\r\n$4\r\nhuge\r\n$62914560\r\n".to_vec();
                request.resize(request.len() + SENT, b'x');
                // Refused mid-way: the server closes, the write fails.
                let _ = stream.write_all(&request);
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let mut reply = Vec::new();
                let huge = match stream.read_to_end(&mut reply) {
                    Ok(_) => Huge::Refused,
                    Err(err) if err.kind() == ErrorKind::ConnectionReset => Huge::Refused,
                    Err(err)
                        if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                    {
                        assert!(
                            reply.is_empty(),
                            "unexpected reply {:?}",
                            reply.escape_ascii().to_string()
                        );
                        Huge::Held
                    }
                    Err(err) => panic!("unexpected error: {err}"),
                };
                if huge == Huge::Refused && !reply.is_empty() {
                    let reply = String::from_utf8_lossy(&reply);
                    assert!(
                        reply.starts_with("-ERR memory budget exceeded: "),
                        "unexpected reply {reply:?}"
                    );
                }
                // Held open until the memory is measured.
                barrier.wait();
                huge
            })
        })
        .collect();
    barrier.wait();
    let (now, peak) = resident(pid);
    let outcomes: Vec<Huge> = clients
        .into_iter()
        .map(|client| client.join().expect("client failed"))
        .collect();
    let held = outcomes.iter().filter(|&h| *h == Huge::Held).count();
    let refused = CLIENTS - held;
    eprintln!(
        "baseline {} KiB, now {} KiB, peak {} KiB; {held} held, {refused} refused",
        baseline / 1024,
        now / 1024,
        peak / 1024
    );
    assert!(
        peak <= baseline + BUDGET + SLACK,
        "peak resident memory {} MiB: more than the baseline ({} MiB) + the budget ({} MiB) \
         + {} MiB",
        peak / MIB,
        baseline / MIB,
        BUDGET / MIB,
        SLACK / MIB
    );
    assert!(held > 0, "no huge command was held within the budget");
    assert!(refused > 0, "the budget refused nothing");
    // Memory back: the server serves large values again.
    let mut client = server.connect();
    let value = vec![b'v'; 8 * 1024 * 1024];
    client.call(&[b"SET", b"big", &value], b"+OK\r\n");
    client.call(&[b"GET", b"big"], &bulk(&value));
    server.stop();
}
