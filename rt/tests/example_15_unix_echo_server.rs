//! Runs example 15 (`rt_15_unix_echo_server`): it prints what
//! `examples/README.md` shows, echoes on a socket path and on an abstract
//! name, refuses a path that exists with an error that says what to do, and
//! on SIGTERM stops and removes its socket file.

use std::io::{Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::process::Command;

mod util;

use util::server::RunningExample;
use util::temp_dir::TempDir;
use util::timeout::TIMEOUT;

const NAME: &str = "rt_15_unix_echo_server";

/// Runs the example on `address` (a path, or `@name`).
fn start(address: &str) -> RunningExample {
    let mut command = Command::new(util::example(NAME));
    command.args([address, "10"]);
    let example = RunningExample::spawn(NAME, command);
    assert_eq!(example.first_line, format!("listening on {address}\n"));
    example
}

/// Sends a message on `stream` and checks its echo.
fn echo(mut stream: UnixStream) {
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let message = b"hello over a Unix socket\n".repeat(100);
    stream.write_all(&message).unwrap();
    let mut echo = vec![0; message.len()];
    stream.read_exact(&mut echo).expect("no echo");
    assert_eq!(echo, message);
}

#[test]
fn echoes_on_a_path_and_removes_the_socket_file_when_stopped() {
    let dir = TempDir::new("example-15");
    let path = dir.join("echo.sock");
    let address = path.to_str().unwrap();
    let example = start(address);
    for _ in 0..10 {
        echo(UnixStream::connect(&path).expect("can't connect"));
    }

    // A second server on the same path: refused, saying why.
    let second = Command::new(util::example(NAME))
        .arg(address)
        .output()
        .unwrap();
    assert!(!second.status.success(), "a second server bound the path");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("AddrInUse") && stderr.contains("the path exists"),
        "{stderr}"
    );

    example.signal(libc::SIGTERM);
    example.exit(TIMEOUT).assert_success("stopped\n");
    assert!(!path.exists(), "the socket file is left behind");
}

#[test]
fn echoes_on_an_abstract_name() {
    let name = format!("kiln-rt-{}-example-15", std::process::id());
    let example = start(&format!("@{name}"));
    let address = SocketAddr::from_abstract_name(&name).unwrap();
    for _ in 0..10 {
        echo(UnixStream::connect_addr(&address).expect("can't connect"));
    }
    example.signal(libc::SIGINT);
    example.exit(TIMEOUT).assert_success("stopped\n");
}
