//! Helpers shared by the tests. Each test file includes this folder with
//! `mod util;` and uses what it needs; a helper that two test files need
//! lives here, once.
//!
//! - here: building the examples;
//! - [`check`]: checks that run inside an actor;
//! - [`clients`]: clients that stall a server, and the TCP echo loop;
//! - [`counting_alloc`]: a global allocator counting each thread's
//!   allocations;
//! - [`datagram_echo`]: the datagram echo server of UDP and Unix sockets;
//! - [`echo`]: the echo tests with many clients;
//! - [`fake_systemd`]: a socket standing in for systemd's notify socket;
//! - [`metrics`]: waiting for a runtime's metrics;
//! - [`net_server`]: `kiln_rt::net::Server` in the tests;
//! - [`one_at_a_time`]: tests of one binary that must not overlap;
//! - [`pattern`]: test data in which a byte out of place shows;
//! - [`rpc`]: an RPC server and client;
//! - [`runtime`]: running a runtime so that the test ends;
//! - [`server`]: an example running as a child process until it is stopped;
//! - [`temp_dir`]: a directory of a test's own;
//! - [`timeout`]: how long a test waits before it fails;
//! - [`unix`]: abstract names for Unix-domain sockets.

#![allow(dead_code, reason = "each test binary uses some of these")]

pub(crate) mod check;
pub(crate) mod clients;
pub(crate) mod counting_alloc;
pub(crate) mod datagram_echo;
pub(crate) mod echo;
pub(crate) mod fake_systemd;
pub(crate) mod metrics;
pub(crate) mod net_server;
pub(crate) mod one_at_a_time;
pub(crate) mod pattern;
pub(crate) mod rpc;
pub(crate) mod runtime;
pub(crate) mod server;
pub(crate) mod temp_dir;
pub(crate) mod timeout;
pub(crate) mod unix;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, PoisonError};

/// The path of example `name`, built (if it is not up to date) in the
/// target directory and profile of this test binary, once per run: `cargo
/// test --test <file>` builds no examples, and a stale binary would test old
/// code.
pub(crate) fn example(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut path = std::env::current_exe().expect("no test binary path");
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let binary = path.join("examples").join(name);
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if !built.iter().any(|b| b == name) {
        let profile = path.file_name().expect("no profile directory");
        let target_dir = path.parent().expect("no target directory");
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--quiet", "-p", "kiln-rt", "--example", name]);
        cargo.arg("--target-dir").arg(target_dir);
        if profile == "release" {
            cargo.arg("--release");
        }
        // The features of this test binary's kiln-rt, so cargo reuses that
        // build of it.
        if cfg!(feature = "test") {
            cargo.args(["--features", "test"]);
        }
        let status = cargo.status().expect("can't run cargo");
        assert!(status.success(), "building example {name} failed");
        built.push(name.to_owned());
    }
    binary
}
