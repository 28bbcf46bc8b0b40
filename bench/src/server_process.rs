//! A benchmark server in a child process (this binary re-run with
//! `--child ...`): started, its port read, its CPU time sampled, stopped by
//! closing its standard input. Used by W7 and W8.

use std::fs;
use std::future::Future;
use std::io::{self, BufRead as _, BufReader, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use kiln::actor::{Actor, NewActor};
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::RuntimeRef;
use kiln_rt::access::ThreadLocal;
use kiln_rt::net::{ServerError, ServerMessage};
use kiln_rt::spawn::ActorOptions;

/// How long a stopped server may take to exit before it is killed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(2);

/// A server running in a child process.
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) port: u16,
}

impl ServerProcess {
    /// Starts this binary with `--child args` and reads the port it
    /// prints.
    pub(crate) fn start(args: &[&str]) -> Result<ServerProcess, String> {
        let exe = std::env::current_exe().map_err(|err| err.to_string())?;
        ServerProcess::start_binary(&exe, args)
    }

    /// Starts `binary` (a kiln-bench) with `--child args` and reads the
    /// port it prints.
    pub(crate) fn start_binary(binary: &Path, args: &[&str]) -> Result<ServerProcess, String> {
        let child = Command::new(binary)
            .arg("--child")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| format!("can't start {}: {err}", binary.display()))?;
        let mut server = ServerProcess { child, port: 0 };
        let stdout = server.child.stdout.take().ok_or("no stdout pipe")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|err| format!("can't read the server's port: {err}"))?;
        server.port = line.trim().parse().map_err(|_| {
            let status = server.child.try_wait().ok().flatten();
            format!("the server printed {line:?} instead of its port (exit status: {status:?})")
        })?;
        Ok(server)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes the child's standard input, which stops it, and waits for it
    /// to exit; fails if it had failed. A child that does not exit is killed
    /// when `self` drops.
    pub(crate) fn stop(mut self) -> Result<(), String> {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("the server failed: {status}")),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => return Err("the server did not stop when its input closed".into()),
                Err(err) => return Err(err.to_string()),
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The CPU time (user and system) that process `pid` has used so far.
pub(crate) fn cpu_time(pid: u32) -> Result<Duration, String> {
    let stat =
        fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|err| format!("{pid}: {err}"))?;
    // The second field, the command, is in parentheses and may hold spaces:
    // count from the last ')'. The fields after it start with the third
    // (the state); utime and stime are the 14th and 15th.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("malformed /proc/<pid>/stat")?;
    let mut fields = rest.split_whitespace().skip(11);
    let mut ticks = || -> Result<u64, String> {
        fields
            .next()
            .ok_or("malformed /proc/<pid>/stat")?
            .parse()
            .map_err(|err: std::num::ParseIntError| err.to_string())
    };
    let ticks = ticks()? + ticks()?;
    // SAFETY: `sysconf` only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second)
        .ok()
        .filter(|&n| n > 0)
        .ok_or("can't get the clock tick rate")?;
    Ok(Duration::from_secs(ticks / per_second)
        + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second))
}

// The child's side.

/// Tells the parent the port: one line on standard output.
pub(crate) fn announce(port: u16) -> Result<(), String> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{port}")
        .and_then(|()| stdout.flush())
        .map_err(|err| err.to_string())
}

/// A free port on the loopback address.
pub(crate) const ANY_PORT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// Exits the process when its standard input closes (the parent's
/// [`ServerProcess::stop`], or the parent's end).
pub(crate) fn exit_when_stdin_closes() {
    thread::spawn(|| {
        let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
        std::process::exit(0);
    });
}

/// Runs the server actor `setup` (listening on `port`) on a one-worker
/// kiln runtime: announces the port, serves until the process exits.
/// `label` names the server in error messages.
pub(crate) fn run_kiln_server<NA>(
    system: &str,
    label: &'static str,
    setup: NA,
    port: u16,
) -> Result<(), String>
where
    NA: NewActor<
            Message = ServerMessage,
            Argument = (),
            Error = io::Error,
            RuntimeAccess = ThreadLocal,
        > + Clone
        + Send
        + 'static,
    NA::Actor: Actor<Error = ServerError>,
{
    let mut runtime = crate::peer::kiln_setup(system)
        .num_threads(1)
        .build()
        .map_err(|err| err.to_string())?;
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
            let server_supervisor = move |err: ServerError| {
                eprintln!("{label}: {err}; restarting it");
                SupervisorStrategy::Restart(())
            };
            let server_ref =
                rt.try_spawn_local(server_supervisor, setup, (), ActorOptions::default())?;
            // A server stops when no reference to it is left: the signal
            // relay keeps one (and stops it on Ctrl-C), as in example 8.
            rt.receive_signals(server_ref.try_map());
            Ok(())
        })
        .map_err(|err| err.to_string())?;
    announce(port)?;
    runtime.start().map_err(|err| err.to_string())
}

/// Serves on a tokio `current_thread` runtime (W7's tokio, kameo and
/// ractor servers, which have no networking of their own, and W8's hyper): binds,
/// announces the port, and hands every accepted connection to `serve`.
pub(crate) fn tokio_accept_loop<F, Fut>(serve: F) -> Result<(), String>
where
    F: FnMut(tokio::net::TcpStream) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(accept_each(serve))
}

/// Binds a tokio listener, announces its port, and hands every accepted
/// connection to `serve`; in the runtime the caller runs it on (tokio's,
/// actix's `System`).
pub(crate) async fn accept_each<F, Fut>(mut serve: F) -> Result<(), String>
where
    F: FnMut(tokio::net::TcpStream) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let listener = tokio::net::TcpListener::bind(ANY_PORT)
        .await
        .map_err(|err| err.to_string())?;
    announce(listener.local_addr().map_err(|err| err.to_string())?.port())?;
    loop {
        let (stream, _) = listener.accept().await.map_err(|err| err.to_string())?;
        serve(stream).await?;
    }
}
