//! `kiln_rt::systemd`: the datagrams `Notify` and the `watchdog` actor send
//! to a socket standing in for systemd's, byte for byte, and that outside
//! systemd nothing is sent and nothing fails.
//!
//! `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` are process-wide, so
//! each scenario that reads them runs in a child process: this test binary
//! again, running only the `child` test with `KILN_SYSTEMD_SCENARIO` naming
//! the scenario (in a plain test run `child` does nothing). The parent binds
//! the socket, records what arrives and when, and checks it.

use std::ffi::OsStr;
use std::io;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use kiln::actor::{self, actor_fn};
use kiln::messages::Terminate;
use kiln_rt::systemd::{self, Notify};
use kiln_rt::test::{self, TestSupervisor};
use kiln_rt::{ActorOptions, ThreadLocal};

mod util;

use util::fake_systemd::FakeSystemd;
use util::timeout::{RUN_TIMEOUT, TIMEOUT};

/// Names the scenario a child process runs.
const SCENARIO: &str = "KILN_SYSTEMD_SCENARIO";
/// The watchdog timeout a child expects `Notify` to find, in microseconds,
/// or `none`.
const EXPECT_WATCHDOG: &str = "KILN_EXPECT_WATCHDOG";

// ---------------------------------------------------------------------------
// The parent's side.

impl FakeSystemd {
    /// Runs `child` to its end, recording the datagrams that arrive (and
    /// when) meanwhile and after.
    fn record(&self, mut child: Command) -> Recording {
        let start = Instant::now();
        let child = child
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("can't start the child process");
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        let waiter = thread::spawn(move || child.wait_with_output());
        let mut datagrams = Vec::new();
        while !waiter.is_finished() {
            if start.elapsed() > RUN_TIMEOUT {
                // SAFETY: killing our own child process.
                let _ = unsafe { libc::kill(pid, libc::SIGKILL) };
                let output = waiter.join().unwrap().unwrap();
                panic!(
                    "the child did not finish within {RUN_TIMEOUT:?}; datagrams: {datagrams:?}\n{}",
                    describe(&output)
                );
            }
            if let Some(datagram) = self.recv(Duration::from_millis(20)) {
                datagrams.push((start.elapsed(), datagram));
            }
        }
        let output = waiter.join().unwrap().expect("can't wait for the child");
        // What the child sent before it exited is queued in the socket.
        while let Some(datagram) = self.recv(Duration::from_millis(50)) {
            datagrams.push((start.elapsed(), datagram));
        }
        Recording { output, datagrams }
    }
}

/// What a child did.
struct Recording {
    output: Output,
    /// Each datagram, with when it arrived (since the child started).
    datagrams: Vec<(Duration, String)>,
}

impl Recording {
    #[track_caller]
    fn assert_success(&self) {
        assert!(
            self.output.status.success(),
            "the child failed; datagrams: {:?}\n{}",
            self.datagrams,
            describe(&self.output)
        );
    }

    fn messages(&self) -> Vec<&str> {
        self.datagrams.iter().map(|(_, d)| d.as_str()).collect()
    }
}

fn describe(output: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// This test binary running `scenario` in a child process, without any of
/// systemd's variables unless the caller adds them.
fn child_command(scenario: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("no test binary path"));
    command
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(SCENARIO, scenario)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID");
    command
}

/// Like [`child_command`], with `WATCHDOG_PID` set to the child's own pid, as
/// systemd does: a shell exports its pid (`$$`) and `exec`s the child,
/// which keeps the pid.
fn child_with_watchdog_pid(scenario: &str) -> Command {
    let command = child_command(scenario);
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(OsStr::to_owned).collect();
    let envs: Vec<_> = command
        .get_envs()
        .map(|(k, v)| (k.to_owned(), v.map(OsStr::to_owned)))
        .collect();
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg("export WATCHDOG_PID=$$; exec \"$0\" \"$@\"")
        .arg(program)
        .args(args);
    for (key, value) in envs {
        match value {
            Some(value) => shell.env(key, value),
            None => shell.env_remove(key),
        };
    }
    shell
}

/// `CLOCK_MONOTONIC` in microseconds, as the child reads it.
fn monotonic_usec() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid `timespec` to write to.
    let res = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut now) };
    assert_eq!(res, 0, "clock_gettime failed");
    u64::try_from(now.tv_sec).unwrap() * 1_000_000 + u64::try_from(now.tv_nsec).unwrap() / 1_000
}

// ---------------------------------------------------------------------------
// The tests.

/// Checks the datagrams of the `notify` scenario; `reload_window` is the
/// `CLOCK_MONOTONIC` range the reload happened in.
#[track_caller]
fn assert_notify_datagrams(recording: &Recording, reload_window: (u64, u64)) {
    recording.assert_success();
    let messages = recording.messages();
    assert_eq!(messages.len(), 8, "datagrams: {messages:?}");
    assert_eq!(messages[0], "READY=1");
    assert_eq!(messages[1], "STATUS=serving 3 clients, 1 waiting");
    let reload = messages[2]
        .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
        .unwrap_or_else(|| panic!("not a reload: {:?}", messages[2]));
    let reload: u64 = reload.parse().expect("MONOTONIC_USEC is not a number");
    assert!(
        (reload_window.0..=reload_window.1).contains(&reload),
        "MONOTONIC_USEC={reload} is not between {} and {}",
        reload_window.0,
        reload_window.1
    );
    assert_eq!(
        messages[3..],
        [
            "READY=1",
            "WATCHDOG=1",
            "WATCHDOG=trigger",
            "EXTEND_TIMEOUT_USEC=5000000\nSTATUS=slow",
            "STOPPING=1",
        ]
    );
}

#[test]
fn notify_sends_each_message_to_a_socket_path() {
    let systemd = FakeSystemd::at_path("notify");
    let mut command = child_command("notify");
    command
        .env("NOTIFY_SOCKET", systemd.address())
        .env(EXPECT_WATCHDOG, "none");
    let before = monotonic_usec();
    let recording = systemd.record(command);
    let after = monotonic_usec();
    assert_notify_datagrams(&recording, (before, after));
}

#[test]
fn notify_sends_each_message_to_an_abstract_socket() {
    let systemd = FakeSystemd::abstract_name("notify");
    let mut command = child_command("notify");
    command
        .env("NOTIFY_SOCKET", systemd.address())
        .env(EXPECT_WATCHDOG, "none");
    let before = monotonic_usec();
    let recording = systemd.record(command);
    let after = monotonic_usec();
    assert_notify_datagrams(&recording, (before, after));
}

#[test]
fn watchdog_timeout_is_read_for_our_pid_or_no_pid() {
    let systemd = FakeSystemd::at_path("our-pid");
    let mut command = child_with_watchdog_pid("notify");
    command
        .env("NOTIFY_SOCKET", systemd.address())
        .env("WATCHDOG_USEC", "1500000")
        .env(EXPECT_WATCHDOG, "1500000");
    assert_notify_datagrams(&systemd.record(command), (0, u64::MAX));

    let systemd = FakeSystemd::at_path("no-pid");
    let mut command = child_command("notify");
    command
        .env("NOTIFY_SOCKET", systemd.address())
        .env("WATCHDOG_USEC", "2500")
        .env(EXPECT_WATCHDOG, "2500");
    assert_notify_datagrams(&systemd.record(command), (0, u64::MAX));
}

#[test]
fn watchdog_timeout_for_another_process_or_invalid_is_ignored() {
    for (pid, usec) in [
        ("1", "1500000"),
        ("not a pid", "1500000"),
        ("", "0"),
        ("", "ten seconds"),
    ] {
        let systemd = FakeSystemd::at_path("other-pid");
        let mut command = child_command("notify");
        command
            .env("NOTIFY_SOCKET", systemd.address())
            .env("WATCHDOG_USEC", usec)
            .env(EXPECT_WATCHDOG, "none");
        if !pid.is_empty() {
            command.env("WATCHDOG_PID", pid);
        }
        assert_notify_datagrams(&systemd.record(command), (0, u64::MAX));
    }
}

#[test]
fn watchdog_pings_at_half_the_interval_while_healthy() {
    let systemd = FakeSystemd::abstract_name("watchdog");
    let mut command = child_with_watchdog_pid("watchdog");
    command
        .env("NOTIFY_SOCKET", systemd.address())
        .env("WATCHDOG_USEC", "1000000");
    let recording = systemd.record(command);
    recording.assert_success();
    // Health checks 1, 2, 4 and 5 pass; 3 fails: its ping is skipped.
    assert_eq!(
        recording.messages(),
        [
            "WATCHDOG=1",
            "WATCHDOG=1",
            "STATUS=health check failed: database unreachable",
            "WATCHDOG=1",
            "WATCHDOG=1",
        ]
    );
    // One every half interval (500 ms): never twice as often, never later
    // than the interval systemd allows.
    let times: Vec<Duration> = recording.datagrams.iter().map(|(at, _)| *at).collect();
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(350) && gap <= Duration::from_millis(1000),
            "gap of {gap:?} between datagrams: {times:?}"
        );
    }
    let mean = (times[4] - times[0]) / 4;
    assert!(
        mean >= Duration::from_millis(450) && mean <= Duration::from_millis(700),
        "mean gap {mean:?}: {times:?}"
    );
}

#[test]
fn watchdog_without_an_interval_returns_at_once() {
    // `NOTIFY_SOCKET` but no `WATCHDOG_USEC`; and a `WATCHDOG_USEC` meant
    // for another process.
    for pid in [None, Some("1")] {
        let systemd = FakeSystemd::at_path("no-watchdog");
        let mut command = child_command("watchdog_returns");
        command.env("NOTIFY_SOCKET", systemd.address());
        if let Some(pid) = pid {
            command
                .env("WATCHDOG_PID", pid)
                .env("WATCHDOG_USEC", "1000000");
        }
        let recording = systemd.record(command);
        recording.assert_success();
        assert_eq!(recording.messages(), Vec::<&str>::new());
    }
}

#[test]
fn outside_systemd_nothing_happens_and_nothing_fails() {
    // `child` removes systemd's variables; the watchdog variables alone
    // (without `NOTIFY_SOCKET`) change nothing.
    let status: ExitStatus = child_command("outside")
        .env("WATCHDOG_USEC", "1000000")
        .stdout(Stdio::null())
        .status()
        .expect("can't run the child");
    assert!(status.success(), "the child failed: {status}");
    let status = child_command("outside")
        .env("NOTIFY_SOCKET", "")
        .stdout(Stdio::null())
        .status()
        .expect("can't run the child");
    assert!(status.success(), "the child failed: {status}");
}

#[test]
fn connect_errors_name_the_socket() {
    let missing = test::run_on_worker(|rt| {
        Notify::connect(&rt, OsStr::new("/nonexistent/kiln/notify")).map(drop)
    })
    .unwrap_err();
    assert_eq!(missing.kind(), io::ErrorKind::NotFound, "{missing}");
    assert!(
        missing
            .to_string()
            .starts_with("can't connect to the systemd notify socket /nonexistent/kiln/notify: "),
        "{missing}"
    );

    let nobody = test::run_on_worker(|rt| {
        Notify::connect(&rt, OsStr::new("@kiln-no-one-listens-here")).map(drop)
    })
    .unwrap_err();
    assert_eq!(nobody.kind(), io::ErrorKind::ConnectionRefused, "{nobody}");

    for address in ["relative/path", "vsock:2:1234"] {
        let invalid =
            test::run_on_worker(move |rt| Notify::connect(&rt, OsStr::new(address)).map(drop))
                .unwrap_err();
        assert_eq!(invalid.kind(), io::ErrorKind::InvalidInput, "{invalid}");
        assert!(invalid.to_string().contains(address), "{invalid}");
    }
}

/// `Notify::connect` (no environment) in this process, to a path and to
/// an abstract name; line breaks in a status become spaces.
#[test]
fn connect_sends_to_the_given_socket() {
    async fn send(ctx: actor::Context<(), ThreadLocal>, address: String) -> Result<(), String> {
        let notify = Notify::connect(ctx.runtime_ref(), OsStr::new(&address))
            .map_err(|err| err.to_string())?;
        if let Some(timeout) = notify.watchdog_timeout() {
            return Err(format!(
                "a watchdog timeout ({timeout:?}) without the environment"
            ));
        }
        notify
            .status("line 1\r\nline 2")
            .await
            .map_err(|err| err.to_string())?;
        notify.ready().await.map_err(|err| err.to_string())
    }
    for systemd in [
        FakeSystemd::at_path("connect"),
        FakeSystemd::abstract_name("connect"),
    ] {
        let actor_ref = test::spawn_local(
            TestSupervisor,
            actor_fn(send),
            systemd.address().to_owned(),
            ActorOptions::default(),
        );
        test::assert_completed(&actor_ref, TIMEOUT);
        let timeout = Duration::from_secs(1);
        assert_eq!(
            systemd.recv(timeout).as_deref(),
            Some("STATUS=line 1  line 2")
        );
        assert_eq!(systemd.recv(timeout).as_deref(), Some("READY=1"));
        assert_eq!(systemd.recv(Duration::from_millis(50)), None);
    }
}

// ---------------------------------------------------------------------------
// The child's side.

/// Runs the scenario named by `KILN_SYSTEMD_SCENARIO`; in a plain test run
/// (the variable unset) it does nothing.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    match scenario.as_str() {
        "notify" => notify_scenario(),
        "watchdog" => watchdog_scenario(),
        "watchdog_returns" => watchdog_returns_scenario(),
        "outside" => outside_scenario(),
        _ => panic!("unknown scenario {scenario:?}"),
    }
}

/// Sends one of each message from the environment's `Notify`.
fn notify_scenario() {
    async fn notify(ctx: actor::Context<(), ThreadLocal>) -> Result<(), String> {
        let notify = Notify::from_env(ctx.runtime_ref())
            .map_err(|err| err.to_string())?
            .ok_or("no Notify with NOTIFY_SOCKET set")?;
        let expected = match std::env::var(EXPECT_WATCHDOG).unwrap().as_str() {
            "none" => None,
            usec => Some(Duration::from_micros(usec.parse().unwrap())),
        };
        if notify.watchdog_timeout() != expected {
            return Err(format!(
                "watchdog timeout {:?}, expected {expected:?}",
                notify.watchdog_timeout()
            ));
        }
        let res = async {
            notify.ready().await?;
            notify.status("serving 3 clients,\n1 waiting").await?;
            notify.reloading().await?;
            notify.ready().await?;
            notify.watchdog().await?;
            notify.trigger_watchdog().await?;
            notify
                .send("EXTEND_TIMEOUT_USEC=5000000\nSTATUS=slow")
                .await?;
            notify.stopping().await
        };
        res.await.map_err(|err| err.to_string())
    }
    let actor_ref = test::spawn_local(
        TestSupervisor,
        actor_fn(notify),
        (),
        ActorOptions::default(),
    );
    test::assert_completed(&actor_ref, TIMEOUT);
}

/// Runs the watchdog until its health check ran five times (the third
/// fails), then stops it.
fn watchdog_scenario() {
    let checks = Arc::new(AtomicUsize::new(0));
    let counter = checks.clone();
    let health_check = move || match counter.fetch_add(1, Ordering::SeqCst) + 1 {
        3 => Err("database unreachable"),
        _ => Ok(()),
    };
    let actor_ref = test::spawn_local(
        TestSupervisor,
        actor_fn(systemd::watchdog),
        health_check,
        ActorOptions::default(),
    );
    let deadline = Instant::now() + TIMEOUT;
    while checks.load(Ordering::SeqCst) < 5 {
        assert!(
            Instant::now() < deadline,
            "the health check was not called 5 times"
        );
        thread::sleep(Duration::from_millis(5));
    }
    // The fifth ping is sent before the watchdog looks at its inbox again.
    actor_ref.try_send(Terminate).unwrap();
    test::assert_completed(&actor_ref, TIMEOUT);
    assert_eq!(checks.load(Ordering::SeqCst), 5);
}

/// The watchdog returns at once, without calling its health check.
fn watchdog_returns_scenario() {
    let health_check = || -> Result<(), String> { panic!("the health check was called") };
    let actor_ref = test::spawn_local(
        TestSupervisor,
        actor_fn(systemd::watchdog),
        health_check,
        ActorOptions::default(),
    );
    // Still referenced, so only returning on its own stops it.
    test::assert_completed(&actor_ref, TIMEOUT);
}

/// Without `NOTIFY_SOCKET`: no `Notify`, and the watchdog returns at once.
fn outside_scenario() {
    let notify = test::run_on_worker(|rt| Notify::from_env(&rt).map(|n| n.is_some()));
    assert!(!notify.expect("from_env failed outside systemd"));
    watchdog_returns_scenario();
}
