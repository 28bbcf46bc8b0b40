//! After ten thousand connections to a `net::Server` (each echoed, then closed by the client),
//! the process's open descriptor count is back where it was. A test binary of its own: other
//! tests would open descriptors at the same time.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kiln::actor::{self, actor_fn};
use kiln::messages::Terminate;
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::net::{Server, ServerError, TcpStream};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

mod util;

use util::timeout::TIMEOUT;

const CONNECTIONS: usize = 10_000;

async fn echo(
    _: actor::Context<Infallible, ThreadLocal>,
    stream: TcpStream,
    _: SocketAddr,
) -> io::Result<()> {
    util::clients::echo(&stream).await
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("can't list /proc/self/fd")
        .count()
}

#[test]
fn descriptors_return_to_baseline_after_ten_thousand_connections() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let server = Server::new(
        "127.0.0.1:0".parse().unwrap(),
        |err: io::Error| -> SupervisorStrategy<(TcpStream, SocketAddr)> {
            panic!("connection failed: {err}")
        },
        actor_fn(echo),
        ActorOptions::default(),
    )
    .unwrap();
    let address = server.local_addr();
    let (refs_sender, refs) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
            let restart = |err: ServerError| -> SupervisorStrategy<()> { panic!("{err}") };
            refs_sender
                .send(rt.try_spawn_local(restart, server, (), ActorOptions::default())?)
                .unwrap();
            Ok(())
        })
        .unwrap();
    let servers: Vec<_> = refs.iter().take(2).collect();
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(runtime.start().map_err(|err| err.to_string()));
    });

    // Warm up (the first connection may allocate in the runtime), then count.
    let one_connection = || {
        let mut stream = StdStream::connect(address).expect("can't connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.write_all(b"ping").unwrap();
        let mut buf = [0; 4];
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    };
    one_connection();
    // The server closes its side of the warm-up connection asynchronously.
    let mut baseline = open_descriptors();
    for _ in 0..50 {
        thread::sleep(Duration::from_millis(10));
        baseline = baseline.min(open_descriptors());
    }
    for _ in 0..CONNECTIONS {
        one_connection();
    }
    // The server closes its side asynchronously, once it saw the end.
    let give_up = Instant::now() + TIMEOUT;
    let mut open = open_descriptors();
    while open > baseline && Instant::now() < give_up {
        thread::sleep(Duration::from_millis(10));
        open = open_descriptors();
    }
    assert_eq!(
        open, baseline,
        "descriptors left open after {CONNECTIONS} connections"
    );

    for server in servers {
        server.try_send(Terminate).unwrap();
    }
    assert_eq!(result.recv_timeout(TIMEOUT), Ok(Ok(())));
}
