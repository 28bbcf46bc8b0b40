//! An example running as a child process until a test stops it
//! ([`RunningExample`]): its first line read (with a bound, so that an
//! example that prints nothing can't hang the test), its standard error
//! collected while it runs (so that a chatty example can't block on a full
//! pipe) and its lines offered to the test as they come, stopped with a
//! signal, killed if a test fails. A server example ([`ServerExample`])
//! prints `listening on <address>` first.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::example;
use super::timeout::TIMEOUT;

/// An example running as a child process.
#[derive(Debug)]
pub(crate) struct RunningExample {
    child: Child,
    /// Its first line of standard output, with the line feed.
    pub(crate) first_line: String,
    /// Its standard output after the first line.
    stdout: Option<ChildStdout>,
    /// Reads its standard error to the end.
    stderr: Option<JoinHandle<String>>,
    /// The lines of standard error, as they come.
    stderr_lines: mpsc::Receiver<String>,
    /// The lines of standard error the test has looked at.
    seen: Vec<String>,
}

/// How an example ended.
#[derive(Debug)]
pub(crate) struct Exit {
    pub(crate) status: ExitStatus,
    /// From the call to [`RunningExample::exit`] to the exit.
    pub(crate) took: Duration,
    /// Standard output after the first line.
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Exit {
    /// Fails unless the example exited 0 after printing `stdout` (after its
    /// first line).
    #[track_caller]
    pub(crate) fn assert_success(&self, stdout: &str) {
        assert!(
            self.status.success(),
            "example failed: {}; stderr: {}",
            self.status,
            self.stderr
        );
        assert_eq!(self.stdout, stdout, "stderr: {}", self.stderr);
    }
}

impl RunningExample {
    /// Runs `command` (example `name`, see [`example`]) with its standard
    /// output and error piped, and reads its first line.
    pub(crate) fn spawn(name: &str, mut command: Command) -> RunningExample {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("can't run example {name}: {err}"));
        let stderr_pipe = child.stderr.take().expect("no stderr");
        let (line_sender, stderr_lines) = mpsc::channel();
        let stderr = thread::spawn(move || {
            let mut errors = String::new();
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                errors.push_str(&line);
                errors.push('\n');
                let _ = line_sender.send(line);
            }
            errors
        });
        // Killed by `drop` if the test fails from here on.
        let mut example = RunningExample {
            child,
            first_line: String::new(),
            stdout: None,
            stderr: Some(stderr),
            stderr_lines,
            seen: Vec::new(),
        };
        // Byte by byte (what comes after the first line is read at the
        // end), in a thread, so that an example that prints nothing can't
        // hang the test.
        let mut stdout = example.child.stdout.take().expect("no stdout");
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
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("example {name} printed nothing within {TIMEOUT:?}"));
        example.stdout = Some(stdout);
        example.first_line = String::from_utf8(first).expect("output is not UTF-8");
        example
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

    /// Waits (at most [`TIMEOUT`]) for a line of standard error containing
    /// `text`, and returns it.
    pub(crate) fn wait_for_stderr_line(&mut self, text: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {text:?} on standard error; got:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Stops the child with `signal`; it must exit 0 within `limit`, print
    /// `stopped` and nothing on stderr. Returns how long it took.
    pub(crate) fn stop(self, signal: libc::c_int, limit: Duration) -> Duration {
        self.signal(signal);
        let exit = self.exit(limit);
        exit.assert_success("stopped\n");
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

impl Drop for RunningExample {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A server example running as a child process: a [`RunningExample`] whose
/// first line is `listening on <address>`.
#[derive(Debug)]
pub(crate) struct ServerExample {
    example: RunningExample,
    /// Where it listens.
    pub(crate) address: SocketAddr,
}

impl ServerExample {
    /// Starts example `name` with `args` and the environment variables
    /// `envs`; waits for its address.
    pub(crate) fn start(name: &str, args: &[&str], envs: &[(&str, &str)]) -> ServerExample {
        let mut command = Command::new(example(name));
        command.args(args).envs(envs.iter().copied());
        ServerExample::spawn(name, command)
    }

    /// Runs `command` (example `name`) as [`RunningExample::spawn`] does and
    /// reads its address.
    pub(crate) fn spawn(name: &str, command: Command) -> ServerExample {
        let example = RunningExample::spawn(name, command);
        let first = &example.first_line;
        let address = first
            .strip_prefix("listening on ")
            .and_then(|a| a.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("example {name}: unexpected first line: {first:?}"));
        ServerExample { example, address }
    }

    /// As [`RunningExample::stop`].
    pub(crate) fn stop(self, signal: libc::c_int, limit: Duration) -> Duration {
        self.example.stop(signal, limit)
    }

    /// As [`RunningExample::exit`].
    pub(crate) fn exit(self, limit: Duration) -> Exit {
        self.example.exit(limit)
    }
}

impl Deref for ServerExample {
    type Target = RunningExample;

    fn deref(&self) -> &RunningExample {
        &self.example
    }
}

impl DerefMut for ServerExample {
    fn deref_mut(&mut self) -> &mut RunningExample {
        &mut self.example
    }
}
