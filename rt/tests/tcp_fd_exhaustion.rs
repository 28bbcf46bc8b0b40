//! Accepting under descriptor exhaustion: the echo server example runs in a child process with
//! a low `RLIMIT_NOFILE`; more clients connect than it has descriptors for. Its accepts fail
//! with "too many open files", which goes to its supervisor (the example prints it) without a
//! busy loop (the child's CPU time stays low), and once the clients close, new connections are
//! served again.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

mod util;

use util::example;
use util::timeout::TIMEOUT;

/// The descriptor limit of the server process: enough for the runtime (rings, eventfds,
/// signalfd, standard streams, the listeners) and a few connections.
const LIMIT: libc::rlim_t = 48;
/// The longest back-off of `net::Server` after failed accepts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// User plus system CPU time of process `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("can't read stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn echo_once(address: SocketAddr) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    stream.write_all(b"ping")?;
    let mut buf = [0; 4];
    stream.read_exact(&mut buf)?;
    assert_eq!(&buf, b"ping");
    Ok(())
}

#[test]
fn accept_errors_do_not_spin_and_the_server_recovers() {
    let mut command = Command::new(example("rt_8_tcp_echo_server"));
    command
        .args(["127.0.0.1:0", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let limit_descriptors = || {
        let limit = libc::rlimit {
            rlim_cur: LIMIT,
            rlim_max: LIMIT,
        };
        // SAFETY: `limit` is a valid `rlimit` that outlives the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) } == -1 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: the closure only calls `setrlimit`, which is async-signal-safe
    // and touches only the child's own limits.
    unsafe { command.pre_exec(limit_descriptors) };
    let mut child = command.spawn().expect("can't start the example");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address: SocketAddr = first
        .strip_prefix("listening on ")
        .and_then(|address| address.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
    let (errors_sender, errors) = mpsc::channel();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    thread::spawn(move || {
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap_or(0) != 0 {
            let _ = errors_sender.send(line.clone());
            line.clear();
        }
    });

    // More connections than the server has descriptors: the kernel accepts them all (backlog),
    // the server runs out of descriptors accepting them.
    let held: Vec<TcpStream> = (0..2 * LIMIT)
        .map(|_| TcpStream::connect(address).expect("can't connect"))
        .collect();
    let give_up = Instant::now() + TIMEOUT;
    let mut saw_emfile = false;
    while !saw_emfile && Instant::now() < give_up {
        if let Ok(line) = errors.recv_timeout(Duration::from_millis(100)) {
            saw_emfile = line.contains("Too many open files") && line.contains("restarting");
        }
    }
    assert!(
        saw_emfile,
        "the server's supervisor never saw 'too many open files'"
    );

    // Out of descriptors, the server backs off instead of spinning.
    thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks(child.id());
    let window = Instant::now();
    thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(child.id()) - before;
    // SAFETY: `sysconf` takes no pointers.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let share = used as f64 / ticks_per_second / window.elapsed().as_secs_f64();
    assert!(
        share < 0.2,
        "the server used {:.0}% of a CPU while out of descriptors",
        share * 100.0
    );

    // Descriptors free again: new connections are served (after at most a second of back-off).
    drop(held);
    let give_up = Instant::now() + TIMEOUT;
    loop {
        match echo_once(address) {
            Ok(()) => break,
            Err(err) if Instant::now() < give_up => {
                let _ = err;
                thread::sleep(Duration::from_millis(50));
            }
            Err(err) => panic!("the server did not recover: {err}"),
        }
    }
    // One worker's listener serves again. The workers share the process's descriptor table: the
    // first to restart accepts the closed connections left in the backlog and may hold every
    // descriptor for a moment, so the other one's first accept can fail once more, and it backs off
    // again (at most `MAX_BACKOFF`, a second; seen on the epoll driver, whose accepts complete
    // without waiting, many in one turn). After that every worker serves.
    thread::sleep(MAX_BACKOFF + Duration::from_millis(500));
    for _ in 0..20 {
        echo_once(address).expect("the server did not recover");
    }

    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "the example failed: {status}");
}
