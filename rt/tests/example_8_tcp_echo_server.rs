//! Runs example 8 (`rt_8_tcp_echo_server`) with a 2 s idle timeout against
//! clients that stall it: clients that send and never read, and clients
//! that never send, are disconnected within the timeout; SIGTERM with such
//! clients connected ends the example within the timeout (the drain bound);
//! reset connections are routine and log nothing at the default level.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

mod util;

use util::server::ServerExample;

/// The example's idle timeout (its read and write timeouts).
const IDLE: Duration = Duration::from_secs(2);
/// On top of `IDLE` for a noisy machine.
const SLACK: Duration = Duration::from_secs(6);
/// Bytes a non-reading client sends per write.
const CHUNK: usize = 64 * 1024;

fn start() -> ServerExample {
    ServerExample::start(
        "rt_8_tcp_echo_server",
        &["127.0.0.1:0", &IDLE.as_secs().to_string()],
        &[],
    )
}

/// A client that sends `CHUNK`s and never reads, until the server closes
/// the connection (`Some(time from the connect)`) or `stop` is set
/// (`None`).
fn deaf_client(address: SocketAddr, stop: Arc<AtomicBool>) -> JoinHandle<Option<Duration>> {
    thread::spawn(move || {
        let mut stream = TcpStream::connect(address).expect("can't connect");
        let connected = Instant::now();
        // Short, so that the loop sees `stop`; a timed-out write is retried.
        stream
            .set_write_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let chunk = vec![b'x'; CHUNK];
        while !stop.load(Ordering::Relaxed) {
            match stream.write(&chunk) {
                Ok(_) => {}
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(err)
                    if matches!(
                        err.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
                    ) =>
                {
                    return Some(connected.elapsed());
                }
                Err(err) => panic!("non-reading client: unexpected error {err}"),
            }
        }
        None
    })
}

/// A client that connects and sends nothing; returns when the server
/// closed the connection, from the connect.
fn silent_client(address: SocketAddr) -> JoinHandle<Duration> {
    thread::spawn(move || {
        let mut stream = TcpStream::connect(address).expect("can't connect");
        let connected = Instant::now();
        stream.set_read_timeout(Some(IDLE + SLACK)).unwrap();
        let mut buf = [0; 16];
        match stream.read(&mut buf) {
            Ok(0) => {}
            Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
            other => panic!("silent client: expected the server to close, got {other:?}"),
        }
        connected.elapsed()
    })
}

/// Stops the example with SIGTERM; it must exit 0 within `limit`, print
/// `stopped` and nothing on stderr. Returns how long it took.
fn stop(example: ServerExample, limit: Duration) -> Duration {
    example.signal(libc::SIGTERM);
    let exit = example.exit(limit);
    assert!(
        exit.status.success(),
        "example failed: {}; stderr: {}",
        exit.status,
        exit.stderr
    );
    assert_eq!(exit.stdout, "stopped\n");
    assert_eq!(exit.stderr, "", "example logged at the default level");
    exit.took
}

#[test]
fn clients_that_never_read_or_never_send_are_disconnected() {
    let example = start();
    let address = example.address;
    let stop_flag = Arc::new(AtomicBool::new(false));
    let deaf: Vec<_> = (0..5)
        .map(|_| deaf_client(address, stop_flag.clone()))
        .collect();
    let silent: Vec<_> = (0..5).map(|_| silent_client(address)).collect();
    // Stops the non-reading clients if the server never closes them.
    let guard = {
        let stop_flag = stop_flag.clone();
        thread::spawn(move || {
            thread::sleep(IDLE + SLACK);
            stop_flag.store(true, Ordering::Relaxed);
        })
    };
    for (i, client) in deaf.into_iter().enumerate() {
        let closed = client.join().expect("non-reading client panicked");
        let closed = closed.unwrap_or_else(|| {
            panic!(
                "non-reading client {i} still connected {:?} later",
                IDLE + SLACK
            )
        });
        assert!(closed < IDLE + SLACK, "disconnected late: {closed:?}");
    }
    for client in silent {
        let closed = client.join().expect("silent client panicked");
        assert!(closed >= IDLE, "disconnected early: {closed:?}");
        assert!(closed < IDLE + SLACK, "disconnected late: {closed:?}");
    }
    guard.join().unwrap();
    stop(example, SLACK);
}

#[test]
fn sigterm_ends_the_example_within_the_idle_timeout_with_stalled_clients() {
    let example = start();
    let address = example.address;
    let stop_flag = Arc::new(AtomicBool::new(false));
    let deaf: Vec<_> = (0..5)
        .map(|_| deaf_client(address, stop_flag.clone()))
        .collect();
    let silent: Vec<_> = (0..5).map(|_| silent_client(address)).collect();
    // Both kinds connected and stalled: the non-reading ones filled the
    // socket buffers by now.
    thread::sleep(Duration::from_millis(500));
    // The drain bound: each connection ends at the latest an idle timeout
    // after its last progress.
    let took = stop(example, IDLE + SLACK);
    stop_flag.store(true, Ordering::Relaxed);
    for client in deaf {
        client.join().expect("non-reading client panicked");
    }
    for client in silent {
        client.join().expect("silent client panicked");
    }
    assert!(took < IDLE + SLACK, "exit took {took:?}");
}

#[test]
fn reset_connections_are_not_logged() {
    let example = start();
    let address = example.address;
    let clients: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(move || {
                for _ in 0..50 {
                    let mut stream = TcpStream::connect(address).expect("can't connect");
                    // Never read: the echo is still queued when the reset
                    // comes, so the server's receive or send fails.
                    let _ = stream.write_all(&[b'x'; 8 * 1024]);
                    thread::sleep(Duration::from_millis(1));
                    reset(&stream);
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client panicked");
    }
    // The server is still serving.
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(SLACK)).unwrap();
    stream.write_all(b"still here").unwrap();
    let mut echo = [0; 10];
    stream.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"still here");
    drop(stream);
    stop(example, SLACK);
}

/// Closes `stream` with a reset (`SO_LINGER` 0).
fn reset(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a `linger` of the size passed.
    let res = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(res, 0, "can't set SO_LINGER");
}
