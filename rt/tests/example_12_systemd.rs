//! Runs example 12 (`rt_12_systemd`) with `NOTIFY_SOCKET` pointing at a
//! socket this test binds: `READY=1` and watchdog pings arrive, and SIGTERM
//! makes it send `STOPPING=1` and exit 0. Outside systemd it runs and stops
//! the same.

use std::io::{BufRead, BufReader, Read};
use std::process::{ChildStdout, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod util;

use util::fake_systemd::FakeSystemd;
use util::timeout::TIMEOUT;
use util::{Running, example};

impl Running {
    /// Starts the example with `env`, and reads its first line.
    fn start(env: &[(&str, &str)]) -> (Running, BufReader<ChildStdout>, String) {
        let mut command = Command::new(example("rt_12_systemd"));
        command
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .envs(env.iter().copied())
            .stdout(Stdio::piped());
        let mut child = Running(command.spawn().expect("can't run example"));
        let mut stdout = BufReader::new(child.0.stdout.take().expect("no stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("can't read output");
        (child, stdout, first)
    }

    /// Sends `signal` and checks that the example prints `stopped` and
    /// exits 0.
    fn stop(mut self, mut stdout: BufReader<ChildStdout>, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.0.id()).expect("pid out of range");
        // SAFETY: sending a signal to our own child process.
        let res = unsafe { libc::kill(pid, signal) };
        assert_eq!(res, 0, "can't send the signal");
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.0.try_wait().expect("can't wait for example") {
                break status;
            }
            assert!(Instant::now() < deadline, "example did not stop");
            thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "example failed: {status}");
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).expect("can't read output");
        assert_eq!(rest, "stopped\n");
    }
}

#[test]
fn example_12_systemd() {
    let systemd = FakeSystemd::at_path("example-12");
    let (child, stdout, first) = Running::start(&[
        ("NOTIFY_SOCKET", systemd.address()),
        ("WATCHDOG_USEC", "1000000"),
    ]);
    assert_eq!(first, "running under systemd, watchdog timeout 1s\n");

    // It printed after `READY=1` and `STATUS=` went out; the watchdog pings
    // every 500 ms.
    let mut datagrams = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while datagrams.iter().filter(|d| *d == "WATCHDOG=1").count() < 3 {
        assert!(
            Instant::now() < deadline,
            "no 3 watchdog pings in time: {datagrams:?}"
        );
        if let Some(datagram) = systemd.recv(Duration::from_millis(100)) {
            datagrams.push(datagram);
        }
    }
    let ready = datagrams.iter().position(|d| d == "READY=1");
    let status = datagrams.iter().position(|d| d == "STATUS=working");
    assert!(
        ready.is_some() && ready < status,
        "no READY=1, then STATUS=working: {datagrams:?}"
    );

    child.stop(stdout, libc::SIGTERM);
    // The example has exited: what it sent is queued.
    while let Some(datagram) = systemd.recv(Duration::from_millis(50)) {
        datagrams.push(datagram);
    }
    assert_eq!(
        datagrams.last().map(String::as_str),
        Some("STOPPING=1"),
        "STOPPING=1 is not the last datagram: {datagrams:?}"
    );
    let mut sent: Vec<&str> = datagrams.iter().map(String::as_str).collect();
    sent.retain(|d| *d != "WATCHDOG=1");
    assert_eq!(sent, ["READY=1", "STATUS=working", "STOPPING=1"]);
}

#[test]
fn example_12_systemd_outside_systemd() {
    let (child, stdout, first) = Running::start(&[]);
    assert_eq!(first, "running outside systemd\n");
    child.stop(stdout, libc::SIGINT);
}
