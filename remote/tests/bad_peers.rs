//! Peers that misbehave: random, truncated, oversized and malformed
//! frames, a message of the wrong type, TLS garbage, and a peer that stops
//! reading. Each loses its own link, with a warning in the log that names
//! it and says why; the node goes on serving the others.

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kiln::ActorRef;
use kiln::actor::{self, actor_fn};
use kiln::supervisor::NoSupervisor;
use kiln_remote::test::TestCa;
use kiln_remote::{Node, SendError};
use kiln_rt::Runtime;
use kiln_rt::access::ThreadSafe;
use kiln_rt::spawn::{ActorOptions, Spawn};
use kiln_rt::timer::Timer;
use serde::Serialize;

use util::*;

/// The frames of the protocol, as the test writes them by hand (postcard
/// encodes enum variants by index, so the order is the protocol's).
#[derive(Serialize)]
enum Frame<'a> {
    Hello {
        version: u32,
        cluster: &'a str,
        node: &'a str,
        incarnation: u64,
        listen: SocketAddr,
    },
    Message {
        target: &'a str,
        message_type: &'a str,
        payload: &'a [u8],
    },
    #[allow(dead_code, reason = "keeps the variant indexes")]
    Request,
    #[allow(dead_code, reason = "keeps the variant indexes")]
    Response,
    Register {
        name: &'a str,
        message_type: &'a str,
        response_type: Option<&'a str>,
    },
}

fn encode(frame: &Frame<'_>) -> Vec<u8> {
    let body = postcard::to_stdvec(frame).unwrap();
    let mut out = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

fn hello(node: &str) -> Vec<u8> {
    encode(&Frame::Hello {
        version: 2,
        cluster: "test",
        node,
        incarnation: 1,
        listen: "127.0.0.1:9".parse().unwrap(),
    })
}

/// Connects to `address`, writes `bytes`, and waits (up to 10 s) for the
/// node to close the connection; returns whether it did, and the address
/// the connection came from (which the node's log line names).
fn closed_after(address: SocketAddr, bytes: &[u8], then_close: bool) -> (bool, SocketAddr) {
    let mut stream = TcpStream::connect(address).unwrap();
    let from = stream.local_addr().unwrap();
    let start = Instant::now();
    let closed = wait_closed(&mut stream, bytes, then_close);
    println!(
        "{} bytes from {from}: closed {closed}, after {:?}",
        bytes.len(),
        start.elapsed()
    );
    (closed, from)
}

/// Writes `bytes` to `stream` and waits (up to 10 s) for the node to
/// close it.
fn wait_closed(stream: &mut TcpStream, bytes: &[u8], then_close: bool) -> bool {
    stream.write_all(bytes).unwrap();
    if then_close {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {} // The node's Hello, registry, SWIM.
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true, // Reset.
        }
    }
    false
}

/// The log line a closed connection must leave.
enum Logged {
    /// Refused before its `Hello` was accepted: names the address, and says
    /// why.
    Refused(&'static str),
    /// An established link to the node named that failed, and why.
    Failed(&'static str, &'static str),
}

/// Counts texts.
async fn counter(mut ctx: actor::Context<Text, ThreadSafe>, count: Arc<AtomicU64>) {
    while ctx.receive_next().await.is_ok() {
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// A `counter` of `count`.
fn spawn_counter(runtime: &mut Runtime, count: &Arc<AtomicU64>) -> ActorRef<Text> {
    runtime.spawn(
        NoSupervisor,
        actor_fn(counter),
        count.clone(),
        ActorOptions::default(),
    )
}

/// Runs blocking `f` on a thread; waits for it without blocking the
/// runtime.
async fn blocking<T: Send + 'static>(rt: &ThreadSafe, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    let start = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(value) => return value,
            Err(mpsc::TryRecvError::Empty) => {
                assert!(start.elapsed() < TIMEOUT, "blocking work timed out");
                Timer::after(rt.clone(), Duration::from_millis(10)).await;
            }
            Err(mpsc::TryRecvError::Disconnected) => panic!("blocking work panicked"),
        }
    }
}

/// Checks that `a` and `b` still exchange messages.
async fn still_works(rt: &ThreadSafe, b: &Node, count: &AtomicU64) {
    let before = count.load(Ordering::Relaxed);
    let texts = b.lookup::<Text>("texts").unwrap();
    for i in 0..100 {
        texts.send(Text(format!("{i}"))).await.unwrap();
    }
    eventually(rt, "a still receives from b", || {
        count.load(Ordering::Relaxed) >= before + 100
    })
    .await;
}

#[test]
fn bad_frames_close_only_their_link() {
    logs::capture();
    let count = Arc::new(AtomicU64::new(0));
    run(move |runtime| {
        let a = start(runtime, plain("node-a"));
        let b = start(runtime, plain("node-b").with_seeds([a.address()]));
        let texts = spawn_counter(runtime, &count);
        a.register("texts", texts).unwrap();
        move |rt: ThreadSafe| async move {
            eventually(&rt, "b knows texts", || b.lookup::<Text>("texts").is_ok()).await;
            still_works(&rt, &b, &count).await;
            let address = a.address();

            let mut random = vec![0u8; 4096];
            let mut seed = 0x2545_f491_4f6c_dd1du64;
            for byte in &mut random {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *byte = seed as u8;
            }
            let oversized = u32::MAX.to_be_bytes().to_vec();
            let mut truncated = hello("node-x");
            truncated.truncate(truncated.len() / 2);
            let mut malformed = hello("node-x4");
            malformed.extend_from_slice(&[0, 0, 0, 3, 0xff, 0xff, 0xff]);
            let mut wrong_type = hello("node-x5");
            wrong_type.extend(encode(&Frame::Message {
                target: "texts",
                message_type: "test.Add",
                // A valid `Text`: only the type name is wrong.
                payload: &[2, b'h', b'i'],
            }));
            let mut bad_payload = hello("node-x6");
            bad_payload.extend(encode(&Frame::Message {
                target: "texts",
                message_type: "test.Text",
                payload: &[0xff, 0xff, 0xff, 0xff, 0xff],
            }));
            let other_cluster = encode(&Frame::Hello {
                version: 2,
                cluster: "another",
                node: "node-x",
                incarnation: 1,
                listen: "127.0.0.1:9".parse().unwrap(),
            });
            let cases: [(&str, Vec<u8>, bool, Logged); 7] = [
                ("random bytes", random, false, Logged::Refused("")),
                (
                    "an oversized length",
                    oversized,
                    false,
                    Logged::Refused("over the limit"),
                ),
                (
                    "a truncated Hello, then end of stream",
                    truncated,
                    true,
                    Logged::Refused(""),
                ),
                (
                    "a malformed frame after the Hello",
                    malformed,
                    false,
                    Logged::Failed("node-x4", "malformed frame"),
                ),
                (
                    "a message of the wrong type",
                    wrong_type,
                    false,
                    Logged::Failed("node-x5", "of type 'test.Add' for actor 'texts'"),
                ),
                (
                    "a payload that does not decode",
                    bad_payload,
                    false,
                    Logged::Failed("node-x6", "does not decode"),
                ),
                (
                    "a Hello of another cluster",
                    other_cluster,
                    false,
                    Logged::Refused("of cluster 'another'"),
                ),
            ];
            for (what, bytes, then_close, expected) in cases {
                let (closed, from) =
                    blocking(&rt, move || closed_after(address, &bytes, then_close)).await;
                assert!(closed, "the node kept a link that sent {what}");
                let line = match expected {
                    Logged::Refused(why) => {
                        let from = format!("refused a link from {from}: ");
                        logs::logged(&rt, &[&from, why]).await
                    }
                    Logged::Failed(node, why) => {
                        let node = format!("link to node '{node}' failed: ");
                        logs::logged(&rt, &[&node, why]).await
                    }
                };
                assert!(line.starts_with("WARN: "), "{what}: {line}");
                still_works(&rt, &b, &count).await;
            }
            assert_eq!(a.linked_nodes(), ["node-b"]);
            a.stop();
            b.stop();
        }
    });
}

#[test]
fn tls_garbage_is_refused() {
    let ca = TestCa::new("test CA").unwrap();
    let identity = ca.identity("node-a").unwrap();
    run(move |runtime| {
        let a = start(runtime, tls("node-a", identity));
        move |rt: ThreadSafe| async move {
            let address = a.address();
            // A plaintext Hello to a TLS node, and random bytes.
            for bytes in [hello("node-x"), vec![0x16, 3, 1, 0xff, 0xff, 1, 2, 3]] {
                let (closed, _) = blocking(&rt, move || closed_after(address, &bytes, false)).await;
                assert!(closed, "the TLS node kept a plaintext connection");
            }
            assert!(a.linked_nodes().is_empty());
            a.stop();
        }
    });
}

#[test]
fn a_peer_that_stops_reading_does_not_block_the_others() {
    logs::capture();
    let count = Arc::new(AtomicU64::new(0));
    run(move |runtime| {
        let a = start(
            runtime,
            plain("node-a")
                .with_send_queue(64)
                .with_stall_timeout(Duration::from_secs(2)),
        );
        let b = start(runtime, plain("node-b").with_seeds([a.address()]));
        let texts = spawn_counter(runtime, &count);
        b.register("texts", texts).unwrap();
        move |rt: ThreadSafe| async move {
            eventually(&rt, "a knows texts", || a.lookup::<Text>("texts").is_ok()).await;
            let address = a.address();
            // A fake node that says hello, registers a sink and never
            // reads again.
            let (zombie_done, zombie_stop) = mpsc::channel::<()>();
            thread::spawn(move || {
                let mut stream = TcpStream::connect(address).unwrap();
                let mut bytes = hello("node-z");
                bytes.extend(encode(&Frame::Register {
                    name: "zombie",
                    message_type: "test.Text",
                    response_type: None,
                }));
                stream.write_all(&bytes).unwrap();
                let _ = zombie_stop.recv_timeout(TIMEOUT);
            });
            eventually(&rt, "a knows the zombie's sink", || {
                a.lookup::<Text>("zombie").is_ok()
            })
            .await;
            let zombie = a.lookup::<Text>("zombie").unwrap();
            let big = "x".repeat(16 * 1024);
            // Its queue fills up: `Full`, with the message given back.
            let start = Instant::now();
            loop {
                match zombie.try_send(Text(big.clone())) {
                    Ok(()) => {}
                    Err(SendError::Full(Text(back))) => {
                        assert_eq!(back.len(), big.len());
                        break;
                    }
                    Err(err) => panic!("expected Full, got {err}"),
                }
                assert!(start.elapsed() < TIMEOUT, "the zombie's queue never filled");
                if start.elapsed() > Duration::from_millis(1) {
                    Timer::after(rt.clone(), Duration::from_millis(1)).await;
                }
            }
            let full = Instant::now();
            // Meanwhile, node-b is served as usual.
            let texts = a.lookup::<Text>("texts").unwrap();
            for i in 0..10_000 {
                texts.send(Text(format!("{i}"))).await.unwrap();
            }
            eventually(&rt, "b got all 10,000", || {
                count.load(Ordering::Relaxed) == 10_000
            })
            .await;
            println!(
                "10,000 messages to node-b while node-z's queue was full: {:?}",
                full.elapsed()
            );
            // The zombie grants no credit: after the stall timeout it loses
            // its link, with a warning, and sends to it fail.
            eventually(&rt, "the zombie loses its link", || {
                a.linked_nodes() == ["node-b"]
            })
            .await;
            println!(
                "node-z's link closed {:?} after its queue was full (stall timeout 2 s)",
                full.elapsed()
            );
            logs::logged(&rt, &["link to node 'node-z' failed: ", "stopped reading"]).await;
            match zombie.try_send(Text("late".into())) {
                Err(SendError::Unreachable(Text(back))) => assert_eq!(back, "late"),
                other => panic!("expected Unreachable, got {other:?}"),
            }
            drop(zombie_done);
            a.stop();
            b.stop();
        }
    });
}
