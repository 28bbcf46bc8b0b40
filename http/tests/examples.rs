//! Runs every example as a user would (a child process) and checks what it
//! answers and prints; servers are stopped with SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Mutex, PoisonError};

mod util;

use util::{exchange, output_of, read_response};

/// The path of example `name`, built once per test run in this test
/// binary's target directory and profile (`cargo test --test examples`
/// builds no examples, and a stale binary would test old code).
fn example(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut dir = std::env::current_exe().expect("no test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if !built.iter().any(|b| b == name) {
        let profile = dir.file_name().expect("no profile directory").to_owned();
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--quiet", "-p", "kiln-http", "--example", name]);
        cargo
            .arg("--target-dir")
            .arg(dir.parent().expect("no target directory"));
        if profile == "release" {
            cargo.arg("--release");
        }
        assert!(
            cargo.status().expect("can't run cargo").success(),
            "building {name} failed"
        );
        built.push(name.to_owned());
    }
    dir.join("examples").join(name)
}

/// A server example running as a child process; killed if a test fails.
struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
    address: SocketAddr,
}

impl Running {
    /// Starts example `name` with `args`; waits for `listening on`.
    fn start(name: &str, args: &[&str]) -> Running {
        let mut child = Command::new(example(name))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("can't run the example");
        let mut stdout = BufReader::new(child.stdout.take().expect("no stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("can't read the output");
        let address = first
            .strip_prefix("listening on ")
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        Running {
            child,
            stdout,
            address,
        }
    }

    /// Stops it with SIGTERM; checks it prints `stopped` and succeeds.
    fn stop(mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid out of range");
        // SAFETY: sending a signal to our own child process.
        let res = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(res, 0, "can't send SIGTERM");
        let mut rest = String::new();
        self.stdout
            .read_to_string(&mut rest)
            .expect("can't read the output");
        let status = self.child.wait().expect("can't wait for the example");
        assert!(status.success(), "the example failed: {status}");
        assert_eq!(rest, "stopped\n");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `raw` and returns the status and body of the answer.
fn ask(address: SocketAddr, raw: &str) -> (u16, String) {
    let (response, _) = exchange(address, raw.as_bytes());
    let response = response.expect("no response");
    (
        response.status,
        String::from_utf8(response.body).expect("body is not UTF-8"),
    )
}

#[test]
fn http_1_hello() {
    let server = Running::start("http_1_hello", &["127.0.0.1:0", "1"]);
    let address = server.address;
    assert_eq!(
        ask(address, "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"),
        (200, "Hello, World!".to_owned())
    );
    assert_eq!(
        ask(address, "GET /json HTTP/1.1\r\nHost: a\r\n\r\n"),
        (200, r#"{"message":"Hello, World!"}"#.to_owned())
    );
    assert_eq!(ask(address, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n").0, 404);
    assert_eq!(
        ask(address, "DELETE /json HTTP/1.1\r\nHost: a\r\n\r\n").0,
        405
    );
    let echo = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    assert_eq!(ask(address, echo), (200, "abcde".to_owned()));
    // A connection left open is closed by the graceful shutdown.
    let mut open = util::connect(address);
    open.write_all(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut open).unwrap().status, 200);
    server.stop();
}

#[test]
fn http_2_routes() {
    let server = Running::start("http_2_routes", &["127.0.0.1:0"]);
    let address = server.address;
    assert_eq!(
        ask(address, "GET /hello/world HTTP/1.1\r\nHost: a\r\n\r\n"),
        (200, "Hello, world!\n".to_owned())
    );
    let sum = "POST /sum HTTP/1.1\r\nHost: a\r\nContent-Length: 19\r\n\r\n{\"numbers\":[1,2,3]}";
    assert_eq!(ask(address, sum), (200, r#"{"sum":6}"#.to_owned()));
    let bad = "POST /sum HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n{";
    assert_eq!(ask(address, bad).0, 400);
    assert_eq!(
        ask(address, "GET /files/a/b.txt HTTP/1.1\r\nHost: a\r\n\r\n").1,
        "file 'a/b.txt'\n"
    );
    let (response, _) = exchange(address, b"DELETE /hello/x HTTP/1.1\r\nHost: a\r\n\r\n");
    let response = response.unwrap();
    assert_eq!(
        (response.status, response.header("allow")),
        (405, Some("GET, HEAD"))
    );
    server.stop();
}

#[test]
fn http_3_todo_keeps_its_data_across_restarts() {
    let dir = std::env::temp_dir().join(format!("kiln-http-todo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("todo.sqlite");
    let _ = std::fs::remove_file(&db);
    let db = db.to_str().unwrap();

    let server = Running::start("http_3_todo", &["127.0.0.1:0", db]);
    let create =
        "POST /todos HTTP/1.1\r\nHost: a\r\nContent-Length: 22\r\n\r\n{\"title\":\"write docs\"}";
    assert_eq!(
        ask(server.address, create),
        (
            201,
            r#"{"id":1,"title":"write docs","done":false}"#.to_owned()
        )
    );
    let update = "PUT /todos/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\n\r\n{\"done\":true}";
    assert_eq!(
        ask(server.address, update),
        (
            200,
            r#"{"id":1,"title":"write docs","done":true}"#.to_owned()
        )
    );
    assert_eq!(
        ask(server.address, "GET /todos/2 HTTP/1.1\r\nHost: a\r\n\r\n").0,
        404
    );
    server.stop();

    let server = Running::start("http_3_todo", &["127.0.0.1:0", db]);
    assert_eq!(
        ask(server.address, "GET /todos HTTP/1.1\r\nHost: a\r\n\r\n"),
        (
            200,
            r#"[{"id":1,"title":"write docs","done":true}]"#.to_owned()
        )
    );
    assert_eq!(
        ask(
            server.address,
            "DELETE /todos/1 HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        .0,
        204
    );
    assert_eq!(
        ask(server.address, "GET /todos HTTP/1.1\r\nHost: a\r\n\r\n").1,
        "[]"
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn http_4_client() {
    let server = Running::start("http_1_hello", &["127.0.0.1:0", "1"]);
    let url = format!("http://{}/plaintext", server.address);
    let stdout = output_of(Command::new(example("http_4_client")).arg(&url));
    assert_eq!(
        String::from_utf8(stdout).unwrap(),
        "request 1: 200 OK (text/plain)\nHello, World!\nidle connections in the pool: 1\n\
         request 2: 200 OK (text/plain)\nHello, World!\nidle connections in the pool: 1\n"
    );
    server.stop();
}
