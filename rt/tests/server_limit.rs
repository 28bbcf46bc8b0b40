//! The connection limit of `net::Server`: at its limit a server stops
//! accepting, the connections beyond it wait in the listen backlog and are
//! served, in turn, as others close; never more than the limit are open at
//! once; reaching the limit logs one warning; a server at its limit still
//! stops when told to.

use std::convert::Infallible;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiln::actor::{self, NewActor};
use kiln::actor_fn;
use kiln::messages::Terminate;
use kiln_rt::net::{DEFAULT_MAX_CONNECTIONS, TcpStream};
use kiln_rt::{Runtime, ThreadLocal};

mod util;

use util::net_server::{fail_connection, loopback_server, spawn_on_every_worker};
use util::runtime::start;
use util::timeout::TIMEOUT;

/// The limit under test.
const LIMIT: usize = 4;
/// Clients, more than the limit.
const CLIENTS: usize = 10;

/// Connection actors alive now, and the most at once.
#[derive(Default)]
struct Open {
    now: AtomicUsize,
    most: AtomicUsize,
}

async fn echo(
    _: actor::Context<Infallible, ThreadLocal>,
    stream: TcpStream,
    _: SocketAddr,
    open: Arc<Open>,
) -> io::Result<()> {
    let now = open.now.fetch_add(1, Ordering::SeqCst) + 1;
    open.most.fetch_max(now, Ordering::SeqCst);
    let result = util::clients::echo(&stream).await;
    // Counted down before the stream (the slot) is dropped.
    open.now.fetch_sub(1, Ordering::SeqCst);
    result
}

/// The warnings logged, as `target: message`.
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct WarningLog;

impl log::Log for WarningLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            WARNINGS
                .lock()
                .unwrap()
                .push(format!("{}: {}", record.target(), record.args()));
        }
    }

    fn flush(&self) {}
}

/// Sends `ping` and waits up to `wait` for the echo; `false` if none came.
fn echoed(stream: &mut StdStream, wait: Duration) -> bool {
    stream.write_all(b"ping").unwrap();
    served_late(stream, wait)
}

/// Waits up to `wait` for the echo of a `ping` sent earlier (by a client
/// waiting in the backlog, once it is accepted); `false` if none came.
fn served_late(stream: &mut StdStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0; 4];
    match stream.read_exact(&mut buf) {
        Ok(()) => {
            assert_eq!(&buf, b"ping");
            true
        }
        Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(err) => panic!("client failed: {err}"),
    }
}

#[test]
fn connections_beyond_the_limit_wait_in_the_backlog_until_one_closes() {
    log::set_logger(&WarningLog).unwrap();
    log::set_max_level(log::LevelFilter::Warn);

    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let open = Arc::new(Open::default());
    let counts = open.clone();
    let new_actor = actor_fn(echo).map_arg(move |(stream, peer)| (stream, peer, counts.clone()));
    let server = loopback_server(fail_connection, new_actor);
    assert_eq!(server.max_connections(), DEFAULT_MAX_CONNECTIONS);
    let server = server.with_max_connections(LIMIT);
    assert_eq!(server.max_connections(), LIMIT);
    let address = server.local_addr();
    let server_ref = spawn_on_every_worker(&mut runtime, server).remove(0);

    // The first LIMIT are served; the others connect (the kernel completes
    // the handshake into the backlog) but are not accepted.
    let mut served: Vec<StdStream> = (0..LIMIT)
        .map(|_| {
            let mut stream = StdStream::connect(address).unwrap();
            assert!(
                echoed(&mut stream, TIMEOUT),
                "a client within the limit not served"
            );
            stream
        })
        .collect();
    let mut waiting: Vec<StdStream> = (LIMIT..CLIENTS)
        .map(|_| {
            let mut stream = StdStream::connect(address).unwrap();
            assert!(
                !echoed(&mut stream, Duration::from_millis(300)),
                "a client beyond the limit was served"
            );
            stream
        })
        .collect();
    assert_eq!(open.now.load(Ordering::SeqCst), LIMIT);

    // Each close lets one waiting client in.
    let mut total_served = LIMIT;
    while let Some(stream) = served.pop() {
        drop(stream);
        if waiting.is_empty() {
            continue;
        }
        let mut next = waiting.remove(0);
        assert!(
            served_late(&mut next, TIMEOUT),
            "a waiting client was not served after a connection closed"
        );
        total_served += 1;
        served.insert(0, next);
    }
    assert_eq!(total_served, CLIENTS);
    assert!(waiting.is_empty());
    assert!(
        open.most.load(Ordering::SeqCst) <= LIMIT,
        "{} connections open at once, limit {LIMIT}",
        open.most.load(Ordering::SeqCst)
    );

    // Reached many times within a minute: one warning.
    let warnings: Vec<String> = WARNINGS
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.contains("connections open, its limit"))
        .cloned()
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&format!("{LIMIT} connections open")),
        "{warnings:?}"
    );

    // At the limit again, the server still stops when told to.
    let full: Vec<StdStream> = (0..LIMIT)
        .map(|_| {
            let mut stream = StdStream::connect(address).unwrap();
            assert!(echoed(&mut stream, TIMEOUT));
            stream
        })
        .collect();
    server_ref.try_send(Terminate).unwrap();
    drop(full);
    start(runtime).ends();
}
