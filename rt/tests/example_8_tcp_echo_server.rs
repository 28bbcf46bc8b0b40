//! Runs example 8 (`rt_8_tcp_echo_server`) with a 2 s idle timeout against
//! clients that stall it: clients that send and never read, and clients
//! that never send, are disconnected within the timeout; SIGTERM with such
//! clients connected ends the example within the timeout (the drain bound);
//! reset connections are routine and log nothing at the default level.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

mod util;

use util::clients::{reset, send_until_closed, silent_client};
use util::server::ServerExample;

/// The example's idle timeout (its read and write timeouts).
const IDLE: Duration = Duration::from_secs(2);
/// On top of `IDLE` for a noisy machine.
const SLACK: Duration = Duration::from_secs(6);

fn start() -> ServerExample {
    ServerExample::start(
        "rt_8_tcp_echo_server",
        &["127.0.0.1:0", &IDLE.as_secs().to_string()],
        &[],
    )
}

/// Clients that stall the server, each on a thread of its own.
struct Stalled {
    /// Send 64 KiB writes and never read: when the server closed them,
    /// from their first write (`None` if `stop` came first).
    deaf: Vec<JoinHandle<Option<Duration>>>,
    /// Never send: when the server closed them, from their connect.
    silent: Vec<JoinHandle<Duration>>,
    stop: Arc<AtomicBool>,
}

impl Stalled {
    /// Five of each kind.
    fn connect(address: SocketAddr) -> Stalled {
        let stop = Arc::new(AtomicBool::new(false));
        let deaf = (0..5)
            .map(|_| {
                let stop = stop.clone();
                thread::spawn(move || {
                    let mut stream = TcpStream::connect(address).expect("can't connect");
                    let chunk = vec![b'x'; 64 * 1024];
                    send_until_closed(&mut stream, &chunk, || stop.load(Ordering::Relaxed)).0
                })
            })
            .collect();
        let silent = (0..5)
            .map(|_| thread::spawn(move || silent_client(address, IDLE + SLACK)))
            .collect();
        Stalled { deaf, silent, stop }
    }

    /// Stops the non-reading clients that are still connected after
    /// `after`.
    fn stop_after(&self, after: Duration) -> JoinHandle<()> {
        let stop = self.stop.clone();
        thread::spawn(move || {
            thread::sleep(after);
            stop.store(true, Ordering::Relaxed);
        })
    }

    /// When the server closed each: the non-reading clients' and the silent
    /// ones'.
    fn closed(self) -> (Vec<Option<Duration>>, Vec<Duration>) {
        let deaf = self
            .deaf
            .into_iter()
            .map(|t| t.join().expect("non-reading client panicked"));
        let silent = self
            .silent
            .into_iter()
            .map(|t| t.join().expect("silent client panicked"));
        (deaf.collect(), silent.collect())
    }
}

#[test]
fn clients_that_never_read_or_never_send_are_disconnected() {
    let example = start();
    let stalled = Stalled::connect(example.address);
    let guard = stalled.stop_after(IDLE + SLACK);
    let (deaf, silent) = stalled.closed();
    for (i, closed) in deaf.into_iter().enumerate() {
        let closed = closed.unwrap_or_else(|| {
            panic!(
                "non-reading client {i} still connected {:?} later",
                IDLE + SLACK
            )
        });
        assert!(closed < IDLE + SLACK, "disconnected late: {closed:?}");
    }
    for closed in silent {
        assert!(closed >= IDLE, "disconnected early: {closed:?}");
        assert!(closed < IDLE + SLACK, "disconnected late: {closed:?}");
    }
    guard.join().unwrap();
    example.stop(libc::SIGTERM, SLACK);
}

#[test]
fn sigterm_ends_the_example_within_the_idle_timeout_with_stalled_clients() {
    let example = start();
    let stalled = Stalled::connect(example.address);
    // Both kinds connected and stalled: the non-reading ones filled the
    // socket buffers by now.
    thread::sleep(Duration::from_millis(500));
    // The drain bound: each connection ends at the latest an idle timeout
    // after its last progress.
    let took = example.stop(libc::SIGTERM, IDLE + SLACK);
    stalled.stop.store(true, Ordering::Relaxed);
    stalled.closed();
    eprintln!("exit {took:?} after SIGTERM, with 5 non-reading and 5 silent clients");
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
                    reset(stream);
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
    // Nothing on stderr: no line per reset connection.
    example.stop(libc::SIGTERM, SLACK);
}
