//! Helpers shared by the tests: a server on a one-worker runtime in a
//! thread of its own ([`TestServer`]), and a raw client that reads one
//! response ([`read_response`]).

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses some of these"
)]

pub(crate) mod table;

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kiln::ActorRef;
use kiln::actor::NewActor;
use kiln::messages::Terminate;
use kiln::supervisor::SupervisorStrategy;
use kiln_http::server::{Connection, Handler, Server, ServerConfig};
use kiln_rt::access::ThreadLocal;
use kiln_rt::io::IoDriver;
use kiln_rt::net::{ServerError, ServerMessage};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef};

/// How long a test waits for anything before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A server running on a runtime of `workers` workers in a thread of its
/// own; stopped (and waited for) by [`TestServer::stop`].
pub struct TestServer {
    pub address: SocketAddr,
    /// The I/O driver the runtime runs.
    pub io_driver: IoDriver,
    servers: Vec<ActorRef<ServerMessage>>,
    done: mpsc::Receiver<Result<(), String>>,
}

impl TestServer {
    /// A server of `handler`.
    pub fn handler<H: Handler>(handler: H, config: ServerConfig) -> TestServer {
        let setup = Server::new("127.0.0.1:0".parse().unwrap(), handler, config).unwrap();
        TestServer::start_on(setup, 1, IoDriver::Auto).expect("server did not start")
    }

    /// A server of connection actors made by `new_actor`.
    pub fn actor<NA>(new_actor: NA, config: ServerConfig) -> TestServer
    where
        NA: NewActor<Argument = Connection, RuntimeAccess = ThreadLocal>
            + Clone
            + Send
            + Sync
            + 'static,
        NA::Error: std::fmt::Display,
        NA::Message: 'static,
        <NA::Actor as kiln::actor::Actor>::Error: std::fmt::Display,
    {
        let supervisor = |err: <NA::Actor as kiln::actor::Actor>::Error| {
            eprintln!("connection failed: {err}");
            SupervisorStrategy::Stop
        };
        let setup = Server::with_actor(
            "127.0.0.1:0".parse().unwrap(),
            supervisor,
            new_actor,
            config,
        )
        .unwrap();
        TestServer::start_on(setup, 1, IoDriver::Auto).expect("server did not start")
    }

    /// Runs `setup` on a runtime of `workers` workers built
    /// `with_io_driver(driver)` (which `KILN_IO_DRIVER` overrides); the
    /// runtime's build error if it can't be built.
    pub fn start_on<NA>(setup: NA, workers: usize, driver: IoDriver) -> Result<TestServer, String>
    where
        NA: NewActor<
                Message = ServerMessage,
                Argument = (),
                Error = io::Error,
                RuntimeAccess = ThreadLocal,
            > + AddressOf
            + Clone
            + Send
            + 'static,
        NA::Actor: kiln::actor::Actor<Error = ServerError>,
    {
        let address = setup.address();
        let (refs_tx, refs_rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        thread::spawn(move || {
            let result = (|| -> Result<(), String> {
                let mut runtime = Runtime::setup()
                    .num_threads(workers)
                    .with_io_driver(driver)
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime
                    .run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
                        let restart = |err: ServerError| {
                            eprintln!("{err}");
                            SupervisorStrategy::Restart(())
                        };
                        let server =
                            rt.try_spawn_local(restart, setup, (), ActorOptions::default())?;
                        refs_tx.send((server, rt.metrics().io_driver)).unwrap();
                        Ok(())
                    })
                    .map_err(|e| e.to_string())?;
                runtime.start().map_err(|e| e.to_string())
            })();
            let _ = done_tx.send(result);
        });
        let mut servers = Vec::with_capacity(workers);
        let mut io_driver = driver;
        for _ in 0..workers {
            match refs_rx.recv_timeout(TIMEOUT) {
                Ok((server, driver)) => {
                    servers.push(server);
                    io_driver = driver;
                }
                Err(_) => {
                    return Err(match done.recv_timeout(TIMEOUT) {
                        Ok(Err(err)) => err,
                        _ => "server did not start".to_owned(),
                    });
                }
            }
        }
        Ok(TestServer {
            address,
            io_driver,
            servers,
            done,
        })
    }

    /// Stops accepting (a graceful shutdown) and waits for the runtime to
    /// end; fails if it takes longer than `within`.
    pub fn stop_within(self, within: Duration) {
        for server in &self.servers {
            let _ = server.try_send(Terminate);
        }
        drop(self.servers);
        match self.done.recv_timeout(within) {
            Ok(Ok(())) => {}
            Ok(Err(err)) => panic!("runtime failed: {err}"),
            Err(_) => panic!("runtime did not stop within {within:?}"),
        }
    }

    /// [`stop_within`](TestServer::stop_within) the test timeout.
    pub fn stop(self) {
        self.stop_within(TIMEOUT);
    }
}

/// The address of a server setup.
pub trait AddressOf {
    fn address(&self) -> SocketAddr;
}

impl<S, NA> AddressOf for kiln_http::server::ServerSetup<S, NA> {
    fn address(&self) -> SocketAddr {
        self.local_addr()
    }
}

/// Connects to `address` with read and write timeouts.
pub fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).expect("can't connect");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Reads one response (its body by `Content-Length` or chunked) from
/// `stream`, after `leftover` bytes read before; `None` if the connection
/// closed before a response began. Returns bytes read past it too.
pub fn read_response_after(
    stream: &mut TcpStream,
    mut buf: Vec<u8>,
) -> (Option<RawResponse>, Vec<u8>) {
    let deadline = Instant::now() + TIMEOUT;
    let mut chunk = [0; 4096];
    let mut fill = |buf: &mut Vec<u8>| -> bool {
        assert!(Instant::now() < deadline, "no response within {TIMEOUT:?}");
        match stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => false,
            // A signal the test's runtime handles can land on this thread
            // (drivers.rs failed once so): read again, as `read_exact` does.
            Err(err) if err.kind() == io::ErrorKind::Interrupted => true,
            Err(err) => panic!("reading the response: {err}"),
        }
    };
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if !fill(&mut buf) {
            assert!(
                buf.is_empty(),
                "connection closed in a response head: {:?}",
                String::from_utf8_lossy(&buf)
            );
            return (None, buf);
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("head is not UTF-8");
    let status = head[9..12].parse().expect("no status code");
    let mut response = RawResponse {
        status,
        head,
        body: Vec::new(),
    };
    let mut rest = buf.split_off(head_end);
    if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().unwrap();
        while rest.len() < length {
            assert!(fill(&mut rest), "connection closed in a body");
        }
        let after = rest.split_off(length);
        response.body = rest;
        return (Some(response), after);
    }
    if response.header("transfer-encoding") == Some("chunked") {
        loop {
            let line_end = loop {
                if let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
                    break end;
                }
                assert!(fill(&mut rest), "connection closed in a chunk size");
            };
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
            while rest.len() < line_end + 2 + size + 2 {
                assert!(fill(&mut rest), "connection closed in a chunk");
            }
            response
                .body
                .extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest.drain(..line_end + 2 + size + 2);
            if size == 0 {
                return (Some(response), rest);
            }
        }
    }
    if response.status == 204 || response.status == 304 || (100..200).contains(&response.status) {
        return (Some(response), rest);
    }
    // Until the connection closes.
    while fill(&mut rest) {}
    response.body = rest;
    (Some(response), Vec::new())
}

/// Reads one response from `stream`.
pub fn read_response(stream: &mut TcpStream) -> Option<RawResponse> {
    let (response, rest) = read_response_after(stream, Vec::new());
    assert!(
        rest.is_empty(),
        "bytes after the response: {:?}",
        String::from_utf8_lossy(&rest)
    );
    response
}

/// Whether the server closed `stream` (waits up to `wait` for the close).
pub fn is_closed(stream: &mut TcpStream, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut byte = [0];
    let closed = loop {
        // At least a microsecond: a zero timeout means "block forever".
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_micros(1));
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut byte) {
            Ok(0) => break true,
            Ok(_) => panic!("unexpected byte {:?} after the response", byte[0] as char),
            // A signal (the test harness's, a child's exit) cut the wait
            // short: wait on for the rest of it.
            Err(err) if err.kind() == io::ErrorKind::Interrupted && Instant::now() < deadline => {}
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                break false;
            }
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => break true,
            Err(err) => panic!("checking for a close: {err}"),
        }
    };
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    closed
}

/// Starts a POST of a 256 MiB body to `path` on a new connection and
/// writes it for 2 s, as fast as the server takes it, while nothing reads
/// it for the server (a handler that sleeps, a client that does not read
/// the echo): checks that the server pushed back, taking less than 64 MiB
/// (the socket buffers and its own, not the body). Without backpressure
/// the whole body would go in well under a second.
pub fn assert_pushes_back(address: SocketAddr, path: &str) {
    let mut stream = connect(address);
    let total = 256 * 1024 * 1024;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: {total}\r\n\r\n"
    )
    .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let block = vec![7; 1024 * 1024];
    let mut written = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) && written < total {
        match stream.write(&block[..block.len().min(total - written)]) {
            Ok(n) => written += n,
            Err(err) => assert!(
                matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ),
                "{err}"
            ),
        }
    }
    assert!(
        written < 64 * 1024 * 1024,
        "{written} bytes taken by the server while nothing read them"
    );
}

/// POSTs `data` to `path` on `stream` as a chunked body in chunks of
/// `chunk` bytes (from a thread, so that a server that answers as the body
/// arrives is not blocked by the test), and reads the response.
pub fn post_chunked(stream: &mut TcpStream, path: &str, data: &[u8], chunk: usize) -> RawResponse {
    let mut writer = stream.try_clone().unwrap();
    let data = data.to_vec();
    let head = format!("POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    let client = thread::spawn(move || {
        writer.write_all(head.as_bytes()).unwrap();
        for chunk in data.chunks(chunk) {
            write!(writer, "{:x}\r\n", chunk.len()).unwrap();
            writer.write_all(chunk).unwrap();
            writer.write_all(b"\r\n").unwrap();
        }
        writer.write_all(b"0\r\n\r\n").unwrap();
    });
    let response = read_response(stream).expect("no response");
    client.join().unwrap();
    response
}

/// Sends `raw` on a new connection and reads one response.
pub fn exchange(address: SocketAddr, raw: &[u8]) -> (Option<RawResponse>, TcpStream) {
    let mut stream = connect(address);
    stream.write_all(raw).unwrap();
    let response = read_response(&mut stream);
    (response, stream)
}

/// Runs the future `f` makes on a one-worker runtime of its own (as a
/// thread-local future) and returns its output; fails after [`TIMEOUT`].
pub fn run_local<F, Fut, T>(f: F) -> T
where
    F: FnOnce(RuntimeRef) -> Fut + Send + Clone + 'static,
    Fut: Future<Output = T> + 'static,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), String> {
                let future = f(rt.clone());
                rt.spawn_local_future(
                    async move {
                        let _ = tx.send(future.await);
                    },
                    kiln_rt::FutureOptions::default(),
                );
                Ok(())
            })
            .unwrap();
        runtime.start().unwrap();
    });
    rx.recv_timeout(TIMEOUT)
        .expect("the future did not complete in time")
}

/// A raw HTTP server on a thread: answers each connection's requests with
/// `responses` in turn (one per request head read), then closes it.
pub fn raw_server(responses: Vec<&'static [u8]>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            stream.set_read_timeout(Some(TIMEOUT)).unwrap();
            let responses = responses.clone();
            thread::spawn(move || {
                let mut buf = Vec::new();
                for response in responses {
                    // Wait for a request head.
                    let mut chunk = [0; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    buf.drain(..end);
                    if stream.write_all(response).is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

/// Sends each `(method, body)` to `uri` with `client`, reads each body
/// whole; returns the bodies as text with the pool's idle connections
/// after each.
pub async fn send_each<RT: kiln_rt::access::Access + Clone>(
    client: &kiln_http::client::Client<RT>,
    uri: &str,
    requests: Vec<(http::Method, bytes::Bytes)>,
) -> Vec<(String, usize)> {
    let mut got = Vec::new();
    for (method, body) in requests {
        let mut request = http::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri.parse().unwrap();
        let response = client.request(request).await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let body = response.into_body().recv_all().await.unwrap();
        got.push((
            String::from_utf8(body.to_vec()).unwrap(),
            client.idle_connections(),
        ));
    }
    got
}

/// Runs `command`; fails the test with its standard error unless it
/// succeeds; returns its standard output.
pub fn output_of(command: &mut std::process::Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("can't run {command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
