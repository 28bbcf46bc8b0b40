//! Runs example 12 (`rt_12_systemd`) with `NOTIFY_SOCKET` pointing at a
//! socket this test binds: `READY=1` and watchdog pings arrive, and SIGTERM
//! makes it send `STOPPING=1` and exit 0. Outside systemd it runs and stops
//! the same.

use std::process::Command;
use std::time::{Duration, Instant};

mod util;

use util::example;
use util::fake_systemd::FakeSystemd;
use util::server::RunningExample;
use util::timeout::TIMEOUT;

/// Starts the example with `env` (and no other systemd variable).
fn start(env: &[(&str, &str)]) -> RunningExample {
    let mut command = Command::new(example("rt_12_systemd"));
    command
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .envs(env.iter().copied());
    RunningExample::spawn("rt_12_systemd", command)
}

#[test]
fn example_12_systemd() {
    let systemd = FakeSystemd::at_path("example-12");
    let example = start(&[
        ("NOTIFY_SOCKET", systemd.address()),
        ("WATCHDOG_USEC", "1000000"),
    ]);
    assert_eq!(
        example.first_line,
        "running under systemd, watchdog timeout 1s\n"
    );

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

    example.stop(libc::SIGTERM, TIMEOUT);
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
    let example = start(&[]);
    assert_eq!(example.first_line, "running outside systemd\n");
    example.stop(libc::SIGINT, TIMEOUT);
}
