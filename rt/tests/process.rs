//! Child processes driven by actors: a child's output and error read
//! through pipe receivers and its exit code from `process::wait`, a child's
//! input written through a pipe sender (`wc -c`, and a mebibyte through
//! `cat` with a writer and a reader actor), exit by a signal, waiting that
//! does not block the worker, cancelled waits, waits on the shared ring, and
//! signals sent to children (by process id and through a pidfd), which
//! `process::spawn` starts with the runtime's signals unblocked.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use kiln::actor;
use kiln::actor_fn;
use kiln::supervisor::NoSupervisor;
use kiln_rt::Spawn;
use kiln_rt::pipe::{Receiver, Sender};
use kiln_rt::process::{ChildSignal, Pidfd};
use kiln_rt::timer::{Deadline, Timer};
use kiln_rt::{ActorOptions, Runtime, ThreadLocal, ThreadSafe, process};

mod util;

use util::check::{Report, check_reports, ensure};
use util::pattern::byte;
use util::runtime::run_on_one_worker;
use util::timeout::TIMEOUT;

/// Spawns one thread-local actor running `f` and checks it succeeded.
#[track_caller]
fn run_one<F>(f: fn(actor::Context<(), ThreadLocal>, Report) -> F)
where
    F: Future<Output = ()> + 'static,
{
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        rt.spawn_local(NoSupervisor, actor_fn(f), report, ActorOptions::default());
    });
    check_reports(&reports, &["actor"]);
}

/// Reads `receiver` to the end of its stream.
async fn read_to_end(receiver: &Receiver) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    loop {
        // Reading into a full buffer would read nothing, like the end.
        all.reserve(4096);
        let len = all.len();
        all = receiver.read(all).await?;
        if all.len() == len {
            return Ok(all);
        }
    }
}

/// Fails unless `status` is an exit with `code`.
fn check_exit(status: ExitStatus, code: i32) -> io::Result<()> {
    ensure!(
        status.code() == Some(code) && status.signal().is_none(),
        "child ended with {status}, not exit code {code}"
    );
    ensure!(status.success() == (code == 0), "success() of {status}");
    Ok(())
}

#[test]
fn child_output_and_error_read_by_an_actor_and_its_exit_code() {
    async fn actor(ctx: actor::Context<(), ThreadLocal>, report: Report) {
        let rt = ctx.runtime_ref().clone();
        let run = async {
            let mut child = Command::new("sh")
                .args(["-c", "echo hello; echo err >&2; exit 3"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            let stdout = Receiver::from_child_stdout(&rt, child.stdout.take().unwrap());
            let stderr = Receiver::from_child_stderr(&rt, child.stderr.take().unwrap());
            let out = read_to_end(&stdout).await?;
            ensure!(
                out == b"hello\n",
                "stdout: {:?}",
                String::from_utf8_lossy(&out)
            );
            let err = read_to_end(&stderr).await?;
            ensure!(
                err == b"err\n",
                "stderr: {:?}",
                String::from_utf8_lossy(&err)
            );
            check_exit(process::wait(&rt, &child).await?, 3)
        };
        let _ = report.send(("actor", Deadline::after(rt.clone(), TIMEOUT, run).await));
    }
    run_one(actor);
}

#[test]
fn child_input_written_by_an_actor() {
    async fn actor(ctx: actor::Context<(), ThreadLocal>, report: Report) {
        let rt = ctx.runtime_ref().clone();
        let run = async {
            let mut child = Command::new("wc")
                .arg("-c")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()?;
            let stdin = Sender::from_child_stdin(&rt, child.stdin.take().unwrap());
            let stdout = Receiver::from_child_stdout(&rt, child.stdout.take().unwrap());
            // Less than a pipe holds: no need to read while writing.
            stdin.write_all(vec![b'x'; 50_000]).await?;
            stdin.write_all("12345").await?;
            drop(stdin); // The end of wc's input: wc answers only then.
            let out = read_to_end(&stdout).await?;
            let out = String::from_utf8_lossy(&out);
            ensure!(out.trim() == "50005", "wc -c says {out:?}");
            check_exit(process::wait(&rt, &child).await?, 0)
        };
        let _ = report.send(("actor", Deadline::after(rt.clone(), TIMEOUT, run).await));
    }
    run_one(actor);
}

const CAT_LEN: usize = 1024 * 1024;

/// A mebibyte through `cat`: more than its two pipes hold, so the writer
/// and the reader must run at once (two actors on one worker).
#[test]
fn a_mebibyte_through_cat_with_a_writer_and_a_reader_actor() {
    async fn writer(ctx: actor::Context<(), ThreadLocal>, stdin: Sender, report: Report) {
        let run = async {
            for at in (0..CAT_LEN).step_by(8192) {
                let buf: Vec<u8> = (at..(at + 8192).min(CAT_LEN)).map(byte).collect();
                stdin.write_all(buf).await?;
            }
            drop(stdin);
            Ok(())
        };
        let rt = ctx.runtime_ref().clone();
        let _ = report.send(("writer", Deadline::after(rt, TIMEOUT, run).await));
    }
    async fn reader(
        ctx: actor::Context<(), ThreadLocal>,
        (stdout, child): (Receiver, Child),
        report: Report,
    ) {
        let rt = ctx.runtime_ref().clone();
        let run = async {
            let mut at = 0;
            let mut buf = Vec::with_capacity(16 * 1024);
            loop {
                buf.clear();
                buf = stdout.read(buf).await?;
                if buf.is_empty() {
                    break;
                }
                for (i, &b) in buf.iter().enumerate() {
                    ensure!(b == byte(at + i), "byte {} is {b}", at + i);
                }
                at += buf.len();
            }
            ensure!(at == CAT_LEN, "cat gave {at} bytes, not {CAT_LEN}");
            check_exit(process::wait(&rt, &child).await?, 0)
        };
        let _ = report.send(("reader", Deadline::after(rt.clone(), TIMEOUT, run).await));
    }
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("can't run cat");
        let stdin = Sender::from_child_stdin(rt, child.stdin.take().unwrap());
        let stdout = Receiver::from_child_stdout(rt, child.stdout.take().unwrap());
        let options = ActorOptions::default();
        rt.spawn_local(
            NoSupervisor,
            actor_fn(writer),
            (stdin, report.clone()),
            options,
        );
        let arg = ((stdout, child), report);
        rt.spawn_local(NoSupervisor, actor_fn(reader), arg, ActorOptions::default());
    });
    check_reports(&reports, &["reader", "writer"]);
}

#[test]
fn a_child_killed_by_a_signal() {
    async fn actor(ctx: actor::Context<(), ThreadLocal>, report: Report) {
        let rt = ctx.runtime_ref().clone();
        let run = async {
            let mut child = Command::new("sleep").arg("60").spawn()?;
            child.kill()?; // SIGKILL, without waiting.
            let status = process::wait(&rt, &child).await?;
            ensure!(
                status.signal() == Some(libc::SIGKILL) && status.code().is_none(),
                "child ended with {status}, not SIGKILL"
            );
            ensure!(!status.success(), "a killed child succeeded");
            // Reaped: waiting again fails, naming the process.
            let err = process::wait(&rt, &child).await.unwrap_err();
            let pid = child.id().to_string();
            ensure!(
                err.to_string().contains(&pid),
                "error without the pid: {err}"
            );
            Ok(())
        };
        let _ = report.send(("actor", Deadline::after(rt.clone(), TIMEOUT, run).await));
    }
    run_one(actor);
}

/// While one actor waits a second for a child, another on the same (only)
/// worker keeps running: the wait does not block the worker. (Were it
/// blocked, the ticker would tick at most once before the wait ended.)
#[test]
fn waiting_for_a_child_does_not_block_the_worker() {
    async fn waiter(ctx: actor::Context<(), ThreadLocal>, done: Arc<AtomicBool>, report: Report) {
        let rt = ctx.runtime_ref().clone();
        let run = async {
            let child = Command::new("sleep").arg("1").spawn()?;
            let start = Instant::now();
            check_exit(process::wait(&rt, &child).await?, 0)?;
            let waited = start.elapsed();
            ensure!(
                waited >= Duration::from_millis(900),
                "waited only {waited:?}"
            );
            Ok(())
        };
        let result = Deadline::after(rt.clone(), TIMEOUT, run).await;
        done.store(true, Ordering::SeqCst);
        let _ = report.send(("waiter", result));
    }
    async fn ticker(ctx: actor::Context<(), ThreadLocal>, done: Arc<AtomicBool>, report: Report) {
        let start = Instant::now();
        let mut ticks = 0;
        while !done.load(Ordering::SeqCst) && start.elapsed() < TIMEOUT {
            Timer::after(ctx.runtime_ref().clone(), Duration::from_millis(10)).await;
            ticks += 1;
        }
        let result = if ticks >= 3 {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "only {ticks} ticks while waiting"
            )))
        };
        let _ = report.send(("ticker", result));
    }
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        let done = Arc::new(AtomicBool::new(false));
        let arg = (done.clone(), report.clone());
        rt.spawn_local(NoSupervisor, actor_fn(waiter), arg, ActorOptions::default());
        let arg = (done, report);
        rt.spawn_local(NoSupervisor, actor_fn(ticker), arg, ActorOptions::default());
    });
    check_reports(&reports, &["ticker", "waiter"]);
}

/// A wait dropped by a deadline cancels it; the child can be waited for
/// again.
#[test]
fn a_cancelled_wait_can_be_waited_again() {
    async fn actor(ctx: actor::Context<(), ThreadLocal>, report: Report) {
        let rt = ctx.runtime_ref().clone();
        let run = async {
            let mut child = Command::new("sleep").arg("60").spawn()?;
            let short = Duration::from_millis(50);
            let err = Deadline::after(rt.clone(), short, process::wait(&rt, &child))
                .await
                .unwrap_err();
            ensure!(err.kind() == io::ErrorKind::TimedOut, "first wait: {err}");
            // The dropped wait is cancelled when the worker next submits
            // its ring. Killing the child and holding the worker until it
            // is dead makes the dropped wait see the exit before its
            // cancellation: it must not take the child with it (it did
            // before io_uring's waitid got `WNOWAIT`: `ECHILD` here).
            child.kill()?;
            let stat = format!("/proc/{}/stat", child.id());
            let start = Instant::now();
            // Until it is a zombie (`Z`), or gone: reaped by the dropped
            // wait.
            while std::fs::read_to_string(&stat).is_ok_and(|stat| !stat.contains(") Z "))
                && start.elapsed() < TIMEOUT
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            let status = process::wait(&rt, &child).await?;
            ensure!(
                status.signal() == Some(libc::SIGKILL),
                "child ended with {status}"
            );
            Ok(())
        };
        let _ = report.send(("actor", Deadline::after(rt.clone(), TIMEOUT, run).await));
    }
    run_one(actor);
}

/// Thread-safe actors wait on the runtime's shared ring.
#[test]
fn thread_safe_actors_wait_for_children() {
    async fn actor(ctx: actor::Context<(), ThreadSafe>, code: i32, report: Report) {
        let rt = ctx.runtime_ref().clone();
        let run = async {
            let mut child = Command::new("sh")
                .args(["-c", &format!("echo {code}; exit {code}")])
                .stdout(Stdio::piped())
                .spawn()?;
            let stdout = Receiver::from_child_stdout(&rt, child.stdout.take().unwrap());
            let out = read_to_end(&stdout).await?;
            let out = String::from_utf8_lossy(&out);
            ensure!(out.trim() == code.to_string(), "stdout: {out:?}");
            check_exit(process::wait(&rt, &child).await?, code)
        };
        let name = ["child 0", "child 1", "child 2", "child 3"][code as usize];
        let _ = report.send((name, Deadline::after(rt.clone(), TIMEOUT, run).await));
    }
    let (report, reports) = mpsc::channel();
    let mut runtime = Runtime::setup()
        .num_threads(2)
        .build()
        .expect("can't build runtime");
    for code in 0..4 {
        let arg = (code, report.clone());
        runtime.spawn(NoSupervisor, actor_fn(actor), arg, ActorOptions::default());
    }
    drop(report);
    runtime.start().expect("runtime failed");
    check_reports(&reports, &["child 0", "child 1", "child 2", "child 3"]);
}

/// The state letter of process `pid` in `/proc/<pid>/stat` ('S' sleeping,
/// 'T' stopped, ...).
fn process_state(pid: u32) -> io::Result<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // "pid (comm) S ...": the state follows the last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .ok_or_else(|| io::Error::other(format!("unexpected stat {stat:?}")))
}

/// The signals blocked in the process or thread of `/proc/<task>/status`
/// (`SigBlk`): `task` is a process id, or `thread-self`.
fn blocked_signals(task: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{task}/status"))?;
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix("SigBlk:"))
        .ok_or_else(|| io::Error::other("no SigBlk line"))?;
    u64::from_str_radix(mask.trim(), 16).map_err(io::Error::other)
}

/// Polls (every 10 ms, at most `TIMEOUT`) until process `pid` is in
/// `state`.
async fn wait_for_state(rt: &ThreadLocal, pid: u32, state: char) -> io::Result<()> {
    let start = Instant::now();
    loop {
        let now = process_state(pid)?;
        if now == state {
            return Ok(());
        }
        ensure!(
            start.elapsed() < TIMEOUT,
            "process {pid} stayed in state {now}, not {state}"
        );
        Timer::after(rt.clone(), Duration::from_millis(10)).await;
    }
}

/// Starts a shell that exits with code `code` on SIGHUP and waits until it
/// says it is ready (its trap is set, so a signal now is handled).
async fn hangup_handler(rt: &ThreadLocal, code: i32) -> io::Result<Child> {
    let script = format!("trap 'exit {code}' HUP; echo ready; while :; do sleep 0.05; done");
    let mut child = process::spawn(
        Command::new("sh")
            .args(["-c", &script])
            .stdout(Stdio::piped()),
    )?;
    let stdout = Receiver::from_child_stdout(rt, child.stdout.take().unwrap());
    let ready = stdout.read_n(Vec::with_capacity(6), 6).await?;
    ensure!(ready == b"ready\n", "the shell said {ready:?}");
    Ok(child)
}

/// Runs `body` (given the actor's runtime access) in one thread-local
/// actor, for at most `TIMEOUT`, and checks that it succeeded.
#[track_caller]
fn run_body<Fut>(body: fn(ThreadLocal) -> Fut)
where
    Fut: Future<Output = io::Result<()>> + 'static,
{
    async fn actor<Fut: Future<Output = io::Result<()>>>(
        ctx: actor::Context<(), ThreadLocal>,
        body: fn(ThreadLocal) -> Fut,
        report: Report,
    ) {
        let rt = ctx.runtime_ref().clone();
        let result = Deadline::after(rt.clone(), TIMEOUT, body(rt)).await;
        let _ = report.send(("actor", result));
    }
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        let arg = (body, report);
        rt.spawn_local(
            NoSupervisor,
            actor_fn(actor::<Fut>),
            arg,
            ActorOptions::default(),
        );
    });
    check_reports(&reports, &["actor"]);
}

/// Waits for `child` and fails unless signal `signo` ended it.
async fn check_signalled(rt: &ThreadLocal, child: &Child, signo: libc::c_int) -> io::Result<()> {
    let status = process::wait(rt, child).await?;
    ensure!(
        status.signal() == Some(signo),
        "the child ended with {status}, not signal {signo}"
    );
    Ok(())
}

/// The runtime blocks the signals it handles (`Signal::ALL`) in its
/// threads, and a child inherits its parent thread's mask: a child spawned
/// through `process::spawn` has them unblocked, so it reacts to SIGTERM.
#[test]
fn children_spawned_by_process_spawn_have_the_runtimes_signals_unblocked() {
    async fn body(rt: ThreadLocal) -> io::Result<()> {
        let runtime_signals = kiln_rt::Signal::ALL
            .iter()
            .fold(0u64, |mask, signal| mask | 1 << (signal.as_raw() - 1));
        // This thread, a worker.
        let here = blocked_signals("thread-self")?;
        ensure!(
            here & runtime_signals == runtime_signals,
            "the runtime's signals are not blocked here: {here:x}"
        );
        let child = process::spawn(Command::new("sleep").arg("60"))?;
        let blocked = blocked_signals(&child.id().to_string())?;
        process::send_signal(&child, ChildSignal::KILL)?;
        check_signalled(&rt, &child, libc::SIGKILL).await?;
        ensure!(
            blocked & runtime_signals == 0,
            "the child has signals {:x} blocked",
            blocked & runtime_signals
        );
        Ok(())
    }
    run_body(body);
}

/// `send_signal` (by process id): the runtime's `Signal::Hangup` reaches a
/// shell that handles it (its exit code says so), SIGTERM ends a `sleep`,
/// signal 0 only checks.
#[test]
fn signals_sent_to_children_by_process_id() {
    async fn body(rt: ThreadLocal) -> io::Result<()> {
        let shell = hangup_handler(&rt, 42).await?;
        process::send_signal(&shell, kiln_rt::Signal::Hangup)?;
        check_exit(process::wait(&rt, &shell).await?, 42)?;

        let sleep = process::spawn(Command::new("sleep").arg("60"))?;
        process::send_signal(&sleep, ChildSignal::from_raw(0))?;
        process::send_signal(&sleep, ChildSignal::TERMINATE)?;
        check_signalled(&rt, &sleep, libc::SIGTERM).await
    }
    run_body(body);
}

/// Through a pidfd: SIGSTOP pauses the child and SIGCONT resumes it (as
/// /proc shows), a handled SIGHUP gives its exit code, SIGTERM ends it;
/// once it is reaped, signals fail with `NotFound` and a new pidfd cannot
/// be opened.
#[test]
fn signals_sent_to_children_through_a_pidfd() {
    async fn body(rt: ThreadLocal) -> io::Result<()> {
        let shell = hangup_handler(&rt, 7).await?;
        let pidfd = Pidfd::open(&shell)?;
        ensure!(pidfd.pid() == shell.id(), "pid {}", pidfd.pid());
        pidfd.send_signal(ChildSignal::STOP)?;
        wait_for_state(&rt, shell.id(), 'T').await?;
        pidfd.send_signal(ChildSignal::CONTINUE)?;
        // Sleeping in `sleep` or running the loop: anything but stopped.
        let start = Instant::now();
        while process_state(shell.id())? == 'T' {
            ensure!(start.elapsed() < TIMEOUT, "SIGCONT did not resume it");
            Timer::after(rt.clone(), Duration::from_millis(10)).await;
        }
        pidfd.send_signal(ChildSignal::HANGUP)?;
        check_exit(process::wait(&rt, &shell).await?, 7)?;
        // Reaped: the pidfd still names that process, which is gone.
        let err = pidfd.send_signal(ChildSignal::KILL).unwrap_err();
        ensure!(
            err.kind() == io::ErrorKind::NotFound,
            "after reaping: {err}"
        );
        let pid = shell.id().to_string();
        ensure!(
            err.to_string().contains(&pid) && err.to_string().contains("SIGKILL"),
            "error without the pid or signal: {err}"
        );
        let err = Pidfd::open(&shell).unwrap_err();
        ensure!(
            err.kind() == io::ErrorKind::NotFound,
            "open after reaping: {err}"
        );

        let sleep = process::spawn(Command::new("sleep").arg("60"))?;
        Pidfd::open(&sleep)?.send_signal(kiln_rt::Signal::Terminate)?;
        check_signalled(&rt, &sleep, libc::SIGTERM).await
    }
    run_body(body);
}

/// A number that is no signal is refused by both ways, with
/// `InvalidInput`, and the child is left running.
#[test]
fn a_number_that_is_no_signal_is_refused() {
    async fn body(rt: ThreadLocal) -> io::Result<()> {
        let sleep = process::spawn(Command::new("sleep").arg("60"))?;
        let pidfd = Pidfd::open(&sleep)?;
        let bad = ChildSignal::from_raw(12_345);
        for result in [process::send_signal(&sleep, bad), pidfd.send_signal(bad)] {
            let err = result
                .err()
                .ok_or_else(|| io::Error::other("sent signal 12345"))?;
            ensure!(err.kind() == io::ErrorKind::InvalidInput, "{err}");
            ensure!(err.to_string().contains("signal 12345"), "{err}");
        }
        ensure!(process_state(sleep.id())? != 'Z', "the child ended");
        pidfd.send_signal(ChildSignal::KILL)?;
        check_signalled(&rt, &sleep, libc::SIGKILL).await
    }
    run_body(body);
}
