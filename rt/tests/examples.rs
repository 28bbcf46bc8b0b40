//! Runs every example and checks what it prints against
//! `examples/README.md`; the signal example is stopped with a real SIGINT.

use std::io::Read;
use std::process::Command;

mod util;

use util::example;
use util::server::{RunningExample, ServerExample};
use util::timeout::TIMEOUT;

/// Runs example `name` and returns its standard output.
fn run_example(name: &str) -> String {
    let output = Command::new(example(name))
        .output()
        .unwrap_or_else(|err| panic!("can't run example {name}: {err}"));
    let stdout = String::from_utf8(output.stdout).expect("output is not UTF-8");
    assert!(
        output.status.success(),
        "example {name} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn example_1_hello_world() {
    assert_eq!(run_example("rt_1_hello_world"), "Hello, World!\n");
}

#[test]
fn example_2_spawning_actors() {
    assert_eq!(
        run_example("rt_2_spawning_actors"),
        "the synchronous actor gives a name\n\
         the thread-safe actor greets World\n\
         the thread-local actor got: Hello, World!\n"
    );
}

#[test]
fn example_3_rpc() {
    assert_eq!(
        run_example("rt_3_rpc"),
        "set apples to 3 (previously None)\n\
         set apples to 5 (previously Some(3))\n\
         apples: Some(5)\n\
         pears: None\n"
    );
}

#[test]
fn example_4_process_signals() {
    let example = RunningExample::spawn(
        "rt_4_process_signals",
        Command::new(example("rt_4_process_signals")),
    );
    assert_eq!(example.first_line, "running; press Ctrl-C to stop\n");
    // The actor registered for signals before printing.
    example.signal(libc::SIGINT);
    let exit = example.exit(TIMEOUT);
    exit.assert_success("got the interrupt (SIGINT) signal, shutting down\nstopped\n");
}

#[test]
fn example_5_timers() {
    assert_eq!(
        run_example("rt_5_timers"),
        "timer fired after at least 20 ms: true\n\
         deadline: Err(DeadlinePassed)\n\
         tick 1\n\
         tick 2\n\
         tick 3\n"
    );
}

#[test]
fn example_6_restart_supervisor() {
    assert_eq!(
        run_example("rt_6_restart_supervisor"),
        "parser started\n\
         parsed 1\n\
         [WARN] actor 'parser' failed, restarting it (1 of 2 restarts within 1s left): \
         can't parse 'two': invalid digit found in string\n\
         parser started\n\
         parsed 3\n\
         parsed 4\n"
    );
}

#[test]
fn example_7_runtime_setup() {
    assert_eq!(
        run_example("rt_7_runtime_setup"),
        "worker 0 runs on thread 'setup-example:worker:0'\n\
         worker 1 runs on thread 'setup-example:worker:1'\n\
         runtime stopped\n"
    );
}

#[test]
fn example_8_tcp_echo_server() {
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::Duration;

    let example = ServerExample::start("rt_8_tcp_echo_server", &["127.0.0.1:0", "10"], &[]);
    let address = example.address;
    let clients: Vec<_> = (0..100)
        .map(|i| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(address).expect("can't connect");
                stream.set_read_timeout(Some(TIMEOUT)).unwrap();
                let message = format!("hello from client {i}\n").repeat(50);
                stream.write_all(message.as_bytes()).unwrap();
                let mut echo = vec![0; message.len()];
                stream.read_exact(&mut echo).expect("no echo");
                assert_eq!(echo, message.as_bytes());
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client failed");
    }

    // Stopping with a connection open: the server stops accepting, the
    // connection is served until the client closes it.
    let mut open = TcpStream::connect(address).unwrap();
    open.set_read_timeout(Some(TIMEOUT)).unwrap();
    open.write_all(b"one").unwrap();
    let mut buf = [0; 3];
    open.read_exact(&mut buf).unwrap();
    example.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(100));
    open.write_all(b"two").unwrap();
    open.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"two");
    drop(open);

    example.exit(TIMEOUT).assert_success("stopped\n");
}
