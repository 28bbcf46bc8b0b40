//! Helpers shared by the tests: running the examples as child processes
//! (here, and server examples in [`server`]), clients that stall a server
//! ([`clients`]), waiting for metrics ([`metrics`]), an RPC server and
//! client ([`rpc`]), and a runtime of the test's own ([`run`]).

#![allow(dead_code, reason = "each test binary uses some of these")]

pub(crate) mod clients;
pub(crate) mod metrics;
pub(crate) mod rpc;
pub(crate) mod run;
pub(crate) mod server;

use std::path::PathBuf;
use std::process::{Child, Command};
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

/// A child process, killed when dropped if it still runs (a failed test
/// leaves no server behind).
pub(crate) struct Running(pub(crate) Child);

impl Running {
    /// Sends `signal` to the child.
    pub(crate) fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.0.id()).expect("pid out of range");
        // SAFETY: sending a signal to our own child process.
        let res = unsafe { libc::kill(pid, signal) };
        assert_eq!(res, 0, "can't send the signal");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
