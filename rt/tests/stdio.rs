//! The standard streams (`kiln_rt::io::{stdin, stdout, stderr}`) in a real
//! process: the tests run this test binary again as a child, with
//! `CHILD_ENV` set and only `stdio_child` selected; in the child that test
//! starts a runtime whose actor copies its standard input to its standard
//! output upper-cased, then reports on standard error how many bytes it
//! read. The parent checks both streams. The child's standard input and
//! output are pipes, or regular files (which the poll driver can't poll:
//! they go to its blocking pool); the child runs on the parent's driver
//! (`KILN_IO_DRIVER` is inherited).
//!
//! The child also checks that its standard streams' file descriptions are
//! still blocking when it is done: they are shared with other processes (the
//! parent here, a shell and a terminal in real life), so the poll driver
//! must not make them non-blocking.

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
    for fd in [libc::STDIN_FILENO, libc::STDOUT_FILENO] {
        // SAFETY: `F_GETFL` on an open descriptor has no other preconditions.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags == -1 || flags & libc::O_NONBLOCK != 0 {
            return Err(io::Error::other(format!(
                "the shared description of fd {fd} was made non-blocking"
            )));
        }
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

/// What the child's standard input and output are.
#[derive(Copy, Clone, Debug)]
enum Streams {
    Pipes,
    Files,
}

/// Runs the child in `mode` with `input` on its standard input; returns what
/// it wrote.
fn run_child(mode: &str, input: Vec<u8>, streams: Streams) -> Output {
    match streams {
        Streams::Pipes => run_child_on_pipes(mode, input),
        Streams::Files => run_child_on_files(mode, &input),
    }
}

/// This test binary, to run only the child test in `mode`.
fn child_command(mode: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("no test binary path"));
    command
        .args([
            "stdio_child",
            "--exact",
            "--quiet",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode);
    command
}

/// [`run_child`] with regular files for standard input and output.
fn run_child_on_files(mode: &str, input: &[u8]) -> Output {
    let dir = std::env::temp_dir();
    let name = format!(
        "kiln-rt-stdio-{}-{mode}-{}",
        std::process::id(),
        input.len()
    );
    let (input_path, output_path) = (
        dir.join(format!("{name}.in")),
        dir.join(format!("{name}.out")),
    );
    std::fs::write(&input_path, input).expect("can't write the input file");
    let stdin = std::fs::File::open(&input_path).expect("can't open the input file");
    let stdout = std::fs::File::create(&output_path).expect("can't create the output file");
    let child = child_command(mode)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("can't run the child");
    let mut output = wait_for(child);
    output.stdout = std::fs::read(&output_path).expect("can't read the output file");
    let _ = std::fs::remove_file(&input_path);
    let _ = std::fs::remove_file(&output_path);
    output
}

/// Waits for `child`'s output, killing it after [`RUN_TIMEOUT`].
fn wait_for(child: std::process::Child) -> Output {
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
    output
}

/// [`run_child`] with pipes for standard input and output.
fn run_child_on_pipes(mode: &str, input: Vec<u8>) -> Output {
    let mut child = child_command(mode)
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
    let output = wait_for(child);
    writer.join().unwrap();
    output
}

/// Checks that the child copied `input` upper-cased and reported its length.
#[track_caller]
fn check(mode: &str, input: &[u8], streams: Streams) {
    let output = run_child(mode, input.to_vec(), streams);
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
    check("local", &text(300 * 1024 + 5), Streams::Pipes);
}

#[test]
fn thread_safe_actor_copies_stdin_to_stdout() {
    check("shared", &text(200 * 1024 + 1), Streams::Pipes);
}

#[test]
fn empty_stdin_ends_at_once() {
    check("local", b"", Streams::Pipes);
}

#[test]
fn thread_local_actor_copies_a_file_on_stdin_to_a_file_on_stdout() {
    check("local", &text(300 * 1024 + 5), Streams::Files);
}

#[test]
fn thread_safe_actor_copies_a_file_on_stdin_to_a_file_on_stdout() {
    check("shared", &text(100 * 1024 + 3), Streams::Files);
}
