//! Where io_uring is blocked (here: by a seccomp filter, as Docker's default
//! profile, containerd's RuntimeDefault and `kernel.io_uring_disabled` do),
//! a runtime with the default driver choice (`auto`) falls back to epoll and
//! serves TCP; a runtime forced onto io_uring fails to build with an error
//! that names the cause; none panics.
//!
//! Each scenario re-runs this test binary in a child process that installs
//! the filter first, so the rest of the test suite keeps io_uring. The
//! scenarios block all three io_uring system calls (what Docker's profile
//! does), or only `io_uring_enter`, where making a ring succeeds and using
//! it does not (the probe of `auto` must catch that).

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::env;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use kiln::actor::{self, actor_fn};
use kiln::supervisor::NoSupervisor;
use kiln_rt::io::IoDriver;
use kiln_rt::net::{TcpListener, TcpStream};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// Names the scenario a child runs.
const CHILD: &str = "KILN_IO_URING_SECCOMP_CHILD";
/// Starts the line the child's result is on.
const MARKER: &str = "SCENARIO-RESULT:";

/// The io_uring system calls (x86_64 numbers).
const IO_URING_SETUP: u32 = libc::SYS_io_uring_setup as u32;
const IO_URING_ENTER: u32 = libc::SYS_io_uring_enter as u32;
const IO_URING_REGISTER: u32 = libc::SYS_io_uring_register as u32;

/// Runs `scenario` (a test of this file) in a child process with the
/// system calls `blocked` failing with `EPERM`, with `env` set; returns the
/// child's result line.
fn in_child(scenario: &str, blocked: &str, env: &[(&str, &str)]) -> String {
    let output = Command::new(env::current_exe().expect("no test binary"))
        .args(["--exact", scenario, "--nocapture", "--test-threads=1"])
        .env(CHILD, blocked)
        .env_remove("KILN_IO_DRIVER")
        .envs(env.iter().copied())
        .output()
        .expect("can't run the child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| {
            line.split_once(MARKER)
                .map(|(_, rest)| rest.trim().to_owned())
        })
        .unwrap_or_else(|| {
            panic!(
                "child printed no result (status {}):\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

/// In the child: installs the filter its parent asked for and returns
/// `true`; in the parent: `false`.
fn child_blocks_io_uring() -> bool {
    let Some(blocked) = env::var_os(CHILD) else {
        return false;
    };
    let syscalls: &[u32] = match blocked.to_str() {
        Some("all") => &[IO_URING_SETUP, IO_URING_ENTER, IO_URING_REGISTER],
        Some("enter") => &[IO_URING_ENTER],
        other => panic!("unknown {CHILD}: {other:?}"),
    };
    block_syscalls(syscalls);
    true
}

#[test]
fn forced_io_uring_fails_with_a_clear_error_when_it_is_blocked() {
    if child_blocks_io_uring() {
        let result = Runtime::setup().with_io_driver(IoDriver::Uring).build();
        match result {
            Ok(_) => println!("{MARKER} ok"),
            Err(err) => println!(
                "{MARKER} unavailable={} {err}",
                err.is_io_uring_unavailable()
            ),
        }
        return;
    }
    for (blocked, env) in [
        ("all", &[][..]),
        ("enter", &[][..]),
        // The variable wins over the setup (which asks for `uring` here
        // anyway), and `uring` forces io_uring.
        ("all", &[("KILN_IO_DRIVER", "uring")][..]),
    ] {
        let line = in_child(
            "forced_io_uring_fails_with_a_clear_error_when_it_is_blocked",
            blocked,
            env,
        );
        assert!(
            line.starts_with("unavailable=true "),
            "blocked {blocked}: unexpected result: {line}"
        );
        assert!(
            line.contains("io_uring"),
            "error does not name io_uring: {line}"
        );
        assert!(
            line.contains("seccomp"),
            "error does not name the likely cause: {line}"
        );
    }
}

#[test]
fn auto_falls_back_to_epoll_and_serves_tcp_when_io_uring_is_blocked() {
    if child_blocks_io_uring() {
        match serve_one_echo() {
            Ok(driver) => println!("{MARKER} ok driver={driver}"),
            Err(err) => println!("{MARKER} failed: {err}"),
        }
        return;
    }
    for blocked in ["all", "enter"] {
        let line = in_child(
            "auto_falls_back_to_epoll_and_serves_tcp_when_io_uring_is_blocked",
            blocked,
            &[],
        );
        assert_eq!(line, "ok driver=poll", "blocked {blocked}");
    }
    // And `KILN_IO_DRIVER=auto` is the same as not setting it.
    let line = in_child(
        "auto_falls_back_to_epoll_and_serves_tcp_when_io_uring_is_blocked",
        "all",
        &[("KILN_IO_DRIVER", "auto")],
    );
    assert_eq!(line, "ok driver=poll");
}

#[test]
fn an_unknown_driver_in_the_environment_is_a_setup_error() {
    if env::var_os(CHILD).is_some() {
        match Runtime::new() {
            Ok(_) => println!("{MARKER} ok"),
            Err(err) => println!("{MARKER} {err}"),
        }
        return;
    }
    let output = Command::new(env::current_exe().expect("no test binary"))
        .args([
            "--exact",
            "an_unknown_driver_in_the_environment_is_a_setup_error",
            "--nocapture",
        ])
        .env(CHILD, "none")
        .env("KILN_IO_DRIVER", "kqueue")
        .output()
        .expect("can't run the child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("KILN_IO_DRIVER: unknown I/O driver 'kqueue': use auto, uring or poll"),
        "{stdout}"
    );
}

/// Builds a runtime with the default setup, and has a thread-local actor
/// accept one TCP connection and echo one message; returns the driver the
/// runtime ran (`uring` or `poll`).
fn serve_one_echo() -> Result<String, String> {
    let mut runtime = Runtime::new().map_err(|err| format!("build: {err}"))?;
    let driver = runtime.metrics().io_driver;
    let (address, bound) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), String> {
            rt.spawn_local(
                NoSupervisor,
                actor_fn(echo_once),
                address,
                ActorOptions::default(),
            );
            Ok(())
        })
        .map_err(|err| format!("spawn: {err}"))?;
    let client = std::thread::spawn(move || -> Result<(), String> {
        let address: SocketAddr = bound
            .recv_timeout(Duration::from_secs(10))
            .map_err(|err| format!("no address: {err}"))?
            .map_err(|err: String| format!("bind: {err}"))?;
        let mut stream =
            std::net::TcpStream::connect(address).map_err(|err| format!("connect: {err}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|err| err.to_string())?;
        stream
            .write_all(b"hello")
            .map_err(|err| format!("write: {err}"))?;
        let mut reply = [0; 5];
        stream
            .read_exact(&mut reply)
            .map_err(|err| format!("read: {err}"))?;
        if &reply != b"hello" {
            return Err(format!("echoed {reply:?}"));
        }
        Ok(())
    });
    runtime.start().map_err(|err| format!("start: {err}"))?;
    client
        .join()
        .map_err(|_| "the client panicked".to_owned())??;
    Ok(driver.name().to_owned())
}

/// Accepts one connection on a new listener (its address goes to
/// `address`) and echoes what it receives until the client is done.
async fn echo_once(
    ctx: actor::Context<(), ThreadLocal>,
    address: mpsc::Sender<Result<SocketAddr, String>>,
) {
    let listener = match TcpListener::bind(ctx.runtime_ref(), "127.0.0.1:0".parse().unwrap()) {
        Ok(listener) => listener,
        Err(err) => {
            let _ = address.send(Err(err.to_string()));
            return;
        }
    };
    let _ = address.send(listener.local_addr().map_err(|err| err.to_string()));
    let Ok((stream, _)) = listener.accept().await else {
        return;
    };
    echo(&stream).await;
}

async fn echo(stream: &TcpStream) {
    let mut buf = Vec::with_capacity(64);
    loop {
        buf.clear();
        buf = match stream.recv(buf).await {
            Ok(buf) if !buf.is_empty() => buf,
            _ => return,
        };
        buf = match stream.send_all(buf).await {
            Ok(buf) => buf,
            Err(_) => return,
        };
    }
}

/// Installs a seccomp filter on this process that makes the system calls
/// `syscalls` fail with `EPERM`, as Docker's default profile does for the
/// io_uring ones.
fn block_syscalls(syscalls: &[u32]) {
    const LD_ABS_W: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let stmt = |code, k| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let deny = libc::SECCOMP_RET_ERRNO | (libc::EPERM as u32 & libc::SECCOMP_RET_DATA);
    // Offsets in `struct seccomp_data`: `nr` at 0, `arch` at 4.
    let mut filter = vec![
        stmt(LD_ABS_W, 4),
        // Not x86_64: allow (only the x86_64 numbers are known here); jumps
        // to the last instruction.
        libc::sock_filter {
            code: JEQ_K,
            jt: 0,
            jf: u8::try_from(2 * syscalls.len() + 1).unwrap(),
            k: 0xC000_003E,
        },
        stmt(LD_ABS_W, 0),
    ];
    for &syscall in syscalls {
        // Equal: the next instruction (deny); else skip it.
        filter.push(libc::sock_filter {
            code: JEQ_K,
            jt: 0,
            jf: 1,
            k: syscall,
        });
        filter.push(stmt(RET_K, deny));
    }
    filter.push(stmt(RET_K, libc::SECCOMP_RET_ALLOW));
    let program = libc::sock_fprog {
        len: u16::try_from(filter.len()).unwrap(),
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: a plain prctl call with integer arguments.
    let res = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    assert_eq!(res, 0, "PR_SET_NO_NEW_PRIVS");
    // SAFETY: `program` points to a valid filter that outlives the call (the
    // kernel copies it).
    let res = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &raw const program,
        )
    };
    assert_eq!(
        res,
        0,
        "can't install seccomp filter: {}",
        std::io::Error::last_os_error()
    );
}
