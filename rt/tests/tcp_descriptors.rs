//! After ten thousand connections to a `net::Server` (each echoed, then closed by the client),
//! the process's open descriptor count is back where it was. A test binary of its own: other
//! tests would open descriptors at the same time.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::thread;
use std::time::{Duration, Instant};

use kiln::actor::{self, actor_fn};
use kiln::messages::Terminate;
use kiln_rt::net::TcpStream;
use kiln_rt::{Runtime, ThreadLocal};

mod util;

use util::net_server::{fail_connection, loopback_server, spawn_on_every_worker};
use util::runtime::start;
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
    let server = loopback_server(fail_connection, actor_fn(echo));
    let address = server.local_addr();
    let servers = spawn_on_every_worker(&mut runtime, server);
    let started = start(runtime);

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
    started.ends();
}
