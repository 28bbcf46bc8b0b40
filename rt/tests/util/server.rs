//! A server example running as a child process: started on a free port
//! (the address read from its first line, `listening on <address>`), its
//! standard error collected while it runs (so that a chatty example can't
//! block on a full pipe), stopped with a signal, killed if a test fails.

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::example;

/// How long an example may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A server example running as a child process.
pub(crate) struct ServerExample {
    child: Child,
    /// Where it listens.
    pub(crate) address: SocketAddr,
    /// Its standard output after the first line.
    stdout: Option<ChildStdout>,
    /// Reads its standard error to the end.
    stderr: Option<JoinHandle<String>>,
}

/// How an example ended.
pub(crate) struct Exit {
    pub(crate) status: ExitStatus,
    /// From the call to [`ServerExample::exit`] to the exit.
    pub(crate) took: Duration,
    /// Standard output after the first line.
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl ServerExample {
    /// Starts example `name` with `args` and the environment variables
    /// `envs`; waits for its address.
    pub(crate) fn start(name: &str, args: &[&str], envs: &[(&str, &str)]) -> ServerExample {
        let mut child = Command::new(example(name))
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("can't run example {name}: {err}"));
        let mut stderr_pipe = child.stderr.take().expect("no stderr");
        let stderr = thread::spawn(move || {
            let mut errors = String::new();
            let _ = stderr_pipe.read_to_string(&mut errors);
            errors
        });
        // Killed by `drop` if the test fails from here on.
        let mut server = ServerExample {
            child,
            address: SocketAddr::from(([0, 0, 0, 0], 0)),
            stdout: None,
            stderr: Some(stderr),
        };
        // Byte by byte (what comes after the first line is read at the
        // end), in a thread, so that an example that prints nothing can't
        // hang the test.
        let mut stdout = server.child.stdout.take().expect("no stdout");
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut first = Vec::new();
            let mut byte = [0; 1];
            while first.last() != Some(&b'\n') && stdout.read(&mut byte).is_ok_and(|n| n == 1) {
                first.push(byte[0]);
            }
            let _ = sender.send((first, stdout));
        });
        let (first, stdout) = receiver
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|_| panic!("example {name} printed no address within 30 s"));
        server.stdout = Some(stdout);
        let first = String::from_utf8(first).expect("output is not UTF-8");
        server.address = first
            .strip_prefix("listening on ")
            .and_then(|a| a.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("example {name}: unexpected first line: {first:?}"));
        server
    }

    /// The child's process id.
    pub(crate) fn pid(&self) -> libc::pid_t {
        libc::pid_t::try_from(self.child.id()).expect("pid out of range")
    }

    /// Sends `signal` to the child.
    pub(crate) fn signal(&self, signal: libc::c_int) {
        // SAFETY: sending a signal to our own child process.
        let res = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(res, 0, "can't send signal {signal}");
    }

    /// Stops the child with `signal`; it must exit 0 within `limit`, print
    /// `stopped` and nothing on stderr. Returns how long it took.
    pub(crate) fn stop(self, signal: libc::c_int, limit: Duration) -> Duration {
        self.signal(signal);
        let exit = self.exit(limit);
        assert!(
            exit.status.success(),
            "example failed: {}; stderr: {}",
            exit.status,
            exit.stderr
        );
        assert_eq!(exit.stdout, "stopped\n");
        assert_eq!(exit.stderr, "", "example printed errors");
        exit.took
    }

    /// Waits up to `limit` for the child to exit (panics after that) and
    /// returns how it ended.
    pub(crate) fn exit(mut self, limit: Duration) -> Exit {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("can't wait for example") {
                break status;
            }
            assert!(
                start.elapsed() < limit,
                "example still running {limit:?} later"
            );
            thread::sleep(Duration::from_millis(10));
        };
        let took = start.elapsed();
        let mut stdout = String::new();
        if let Some(mut pipe) = self.stdout.take() {
            pipe.read_to_string(&mut stdout).expect("can't read output");
        }
        let stderr = self
            .stderr
            .take()
            .map(|reader| reader.join().expect("stderr reader panicked"))
            .unwrap_or_default();
        Exit {
            status,
            took,
            stdout,
            stderr,
        }
    }
}

impl Drop for ServerExample {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
