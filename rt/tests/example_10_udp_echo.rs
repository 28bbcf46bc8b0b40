//! Runs example 10 (a UDP echo server) on a free port, checks the echoes of datagrams from a std
//! socket (empty, small and large ones, every byte), then stops it with SIGINT and checks that it
//! says so and exits successfully.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

mod util;

use util::timeout::TIMEOUT;
use util::{Running, example};

/// A datagram of `len` bytes, each depending on `seed` and its position.
fn datagram(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + seed * 13) % 251) as u8)
        .collect()
}

#[test]
fn example_10_udp_echo() {
    let child = Command::new(example("rt_10_udp_echo"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("can't run example");
    let mut child = Running(child);
    let mut stdout = BufReader::new(child.0.stdout.take().expect("no stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("can't read output");
    let address: SocketAddr = first
        .strip_prefix("listening on ")
        .and_then(|rest| rest.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
    assert_eq!(address.ip().to_string(), "127.0.0.1");
    assert_ne!(address.port(), 0, "the example printed port 0");

    let socket = UdpSocket::bind("127.0.0.1:0").expect("can't bind a client socket");
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    socket
        .connect(address)
        .expect("can't connect the client socket");
    // Empty, small and large (up to the largest loopback datagram our buffer takes) datagrams,
    // one at a time: loopback loses none while the server keeps up.
    let sizes = [0, 1, 5, 100, 1472, 9000, 60_000, 17, 0, 4096];
    let mut echo = vec![0; 65_536];
    for (seed, &len) in sizes.iter().enumerate() {
        let sent = datagram(seed, len);
        assert_eq!(socket.send(&sent).expect("can't send"), len);
        let n = socket
            .recv(&mut echo)
            .unwrap_or_else(|err| panic!("no echo of datagram {seed} ({len} bytes): {err}"));
        assert!(
            echo[..n] == sent[..],
            "echo of datagram {seed} differs: {n} bytes, sent {len}"
        );
    }

    let pid = libc::pid_t::try_from(child.0.id()).expect("pid out of range");
    // SAFETY: sending a signal to our own child process.
    let res = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(res, 0, "can't send SIGINT");
    // Read the rest on a thread, so that an example that does not stop fails the test (and is
    // killed) rather than hang it.
    let (done, output) = mpsc::channel();
    thread::spawn(move || {
        let mut rest = String::new();
        let _ = done.send(stdout.read_to_string(&mut rest).map(|_| rest));
    });
    let rest = match output.recv_timeout(TIMEOUT) {
        Ok(rest) => rest.expect("can't read output"),
        Err(_) => panic!("the example did not stop after SIGINT"),
    };
    let status = child.0.wait().expect("can't wait for the example");
    let mut stderr = String::new();
    if let Some(mut err) = child.0.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    assert!(
        status.success(),
        "example failed: {status}\nstderr:\n{stderr}"
    );
    assert_eq!(rest, "stopped\n", "stderr:\n{stderr}");
}
