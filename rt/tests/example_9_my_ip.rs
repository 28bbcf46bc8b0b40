//! Runs example 9 (`rt_9_my_ip`) on a free port, asks it from 100 clients
//! at once, and stops it with SIGINT.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod util;

use util::timeout::TIMEOUT;
use util::{Running, example};

#[test]
fn example_9_my_ip() {
    let child = Command::new(example("rt_9_my_ip"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("can't run example");
    let mut child = Running(child);
    let mut stdout = BufReader::new(child.0.stdout.take().expect("no stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("can't read output");
    let address: SocketAddr = first
        .strip_prefix("listening on ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .parse()
        .expect("not a socket address");
    assert_eq!(address.ip().to_string(), "127.0.0.1");
    assert_ne!(address.port(), 0);

    // All connected before any answer is read: the server has 100
    // connections in flight.
    let clients: Vec<TcpStream> = (0..100)
        .map(|i| {
            let stream = TcpStream::connect_timeout(&address, TIMEOUT)
                .unwrap_or_else(|err| panic!("client {i} can't connect: {err}"));
            stream.set_read_timeout(Some(TIMEOUT)).unwrap();
            stream
        })
        .collect();
    for (i, mut client) in clients.into_iter().enumerate() {
        // Reads to EOF: the server closes the connection after the line.
        let mut answer = Vec::new();
        client
            .read_to_end(&mut answer)
            .unwrap_or_else(|err| panic!("client {i} can't read its answer: {err}"));
        assert_eq!(
            answer,
            b"127.0.0.1\n",
            "client {i} got {:?}",
            String::from_utf8_lossy(&answer)
        );
    }

    let pid = libc::pid_t::try_from(child.0.id()).expect("pid out of range");
    // SAFETY: sending a signal to our own child process.
    let res = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(res, 0, "can't send SIGINT");
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("can't wait for example") {
            break status;
        }
        assert!(Instant::now() < deadline, "example did not stop on SIGINT");
        thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "example failed: {status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("can't read output");
    assert_eq!(rest, "stopped\n");
}
