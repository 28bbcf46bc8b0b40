//! The standard streams (`kiln_rt::io::{stdin, stdout, stderr}`) in a real
//! process: the tests run this test binary again as a child, with
//! `CHILD_ENV` set and only `stdio_child` selected; in the child that test
//! starts a runtime whose actor copies its standard input to its standard
//! output upper-cased, then reports on standard error how many bytes it
//! read. The parent checks both streams.

use std::convert::Infallible;
use std::io::{self, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;

use kiln::actor;
use kiln::actor_fn;
use kiln_rt::Spawn;
use kiln_rt::access::Access;
use kiln_rt::io::{stderr, stdin, stdout};
use kiln_rt::timer::Deadline;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal, ThreadSafe};

mod util;

use util::timeout::{RUN_TIMEOUT, TIMEOUT};

/// Set (to `local` or `shared`) in the child process: which kind of actor
/// copies the streams.
const CHILD_ENV: &str = "KILN_RT_STDIO_CHILD";

/// Copies standard input to standard output upper-cased, in reads of at
/// most 8 KiB, then writes `read N bytes` to standard error.
async fn upper_case<RT: Access>(rt: &RT) -> io::Result<()> {
    let (input, output, errors) = (stdin(rt), stdout(rt), stderr(rt));
    // Writing nothing succeeds (as with std) and writes nothing.
    output.write_all(Vec::new()).await?;
    errors.write_all(String::new()).await?;
    let mut read = 0;
    let mut buf = Vec::with_capacity(8192);
    loop {
        buf.clear();
        buf = input.read(buf).await?;
        if buf.is_empty() {
            break;
        }
        read += buf.len();
        buf.make_ascii_uppercase();
        buf = output.write_all(buf).await?;
    }
    errors.write_all(format!("read {read} bytes\n")).await?;
    Ok(())
}

async fn local_actor(ctx: actor::Context<(), ThreadLocal>) -> Result<(), String> {
    let rt = ctx.runtime_ref().clone();
    let run = Deadline::after(rt.clone(), TIMEOUT, upper_case(&rt));
    run.await.map_err(|err| err.to_string())
}

async fn shared_actor(ctx: actor::Context<(), ThreadSafe>) -> Result<(), String> {
    let rt = ctx.runtime_ref().clone();
    let run = Deadline::after(rt.clone(), TIMEOUT, upper_case(&rt));
    run.await.map_err(|err| err.to_string())
}

/// Not a test of its own: the body of the child process, see the module
/// docs. Does nothing unless `CHILD_ENV` is set.
#[test]
fn stdio_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (failures, failed) = mpsc::channel();
    let supervisor = move |err: String| {
        let _ = failures.send(err);
        kiln::supervisor::SupervisorStrategy::Stop
    };
    let mut runtime = Runtime::setup()
        .num_threads(1)
        .build()
        .expect("can't build runtime");
    match mode.as_str() {
        "local" => runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                let options = ActorOptions::default();
                rt.spawn_local(supervisor.clone(), actor_fn(local_actor), (), options);
                Ok(())
            })
            .expect("run_on_workers failed"),
        "shared" => {
            let options = ActorOptions::default();
            runtime.spawn(supervisor, actor_fn(shared_actor), (), options);
        }
        _ => panic!("unknown mode {mode:?}"),
    }
    runtime.start().expect("runtime failed");
    if let Ok(err) = failed.try_recv() {
        eprintln!("the actor failed: {err}");
        std::process::exit(1);
    }
    // Leave before the test harness prints its verdict on standard output.
    std::process::exit(0);
}

/// Runs the child in `mode` with `input` on its standard input; returns what
/// it wrote.
fn run_child(mode: &str, input: Vec<u8>) -> Output {
    let test_binary = std::env::current_exe().expect("no test binary path");
    let mut child = Command::new(test_binary)
        .args([
            "stdio_child",
            "--exact",
            "--quiet",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("can't run the child");
    let mut child_stdin = child.stdin.take().expect("no stdin");
    let writer = thread::spawn(move || {
        // Ignored: fails only if the child died, which the checks report.
        let _ = child_stdin.write_all(&input);
    });
    // Kills a child that hangs.
    let pid = libc::pid_t::try_from(child.id()).expect("pid out of range");
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if finished.recv_timeout(RUN_TIMEOUT) == Err(mpsc::RecvTimeoutError::Timeout) {
            // SAFETY: sending a signal to our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let output = child.wait_with_output().expect("can't wait for the child");
    drop(done);
    watchdog.join().unwrap();
    writer.join().unwrap();
    output
}

/// Checks that the child copied `input` upper-cased and reported its length.
#[track_caller]
fn check(mode: &str, input: &[u8]) {
    let output = run_child(mode, input.to_vec());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "child failed: {}; stderr:\n{stderr}",
        output.status
    );
    assert_eq!(stderr, format!("read {} bytes\n", input.len()));
    let want = input.to_ascii_uppercase();
    let stdout = &output.stdout;
    // The test harness prints a header (`running 1 test`) before the child
    // test starts; what follows must be exactly the copy.
    assert!(
        stdout.len() >= want.len() && stdout.len() - want.len() < 100,
        "child wrote {} bytes for {} bytes of input",
        stdout.len(),
        want.len()
    );
    let (header, copy) = stdout.split_at(stdout.len() - want.len());
    let header = String::from_utf8_lossy(header);
    assert_eq!(header.trim(), "running 1 test", "unexpected header");
    if let Some(at) = copy.iter().zip(&want).position(|(got, want)| got != want) {
        panic!("byte {at} of the output is {}, not {}", copy[at], want[at]);
    }
}

/// Lower-case text, more than a pipe holds.
fn text(len: usize) -> Vec<u8> {
    let words = b"the quick brown fox jumps over the lazy dog\n";
    words.iter().copied().cycle().take(len).collect()
}

#[test]
fn thread_local_actor_copies_stdin_to_stdout() {
    check("local", &text(300 * 1024 + 5));
}

#[test]
fn thread_safe_actor_copies_stdin_to_stdout() {
    check("shared", &text(200 * 1024 + 1));
}

#[test]
fn empty_stdin_ends_at_once() {
    check("local", b"");
}
