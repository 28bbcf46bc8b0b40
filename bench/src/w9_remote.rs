//! W9: actors on two nodes in two processes on loopback, linked by mutual
//! TLS 1.3: the round trip of an RPC (p50 and p99, in ns) and one-way
//! messages per second.
//!
//! A server node runs in a child process (for kiln this binary re-run with
//! `--child W9-server kiln DIR`) with one actor that answers `Ping(n)`
//! with `n`, counts numbered one-way messages (checking their order) and
//! answers `Flush` with the count. The client node (in the benchmark's
//! process for kiln) makes `calls` sequential RPCs after a tenth as many
//! to warm up, each timed alone; then it sends `messages` one-way messages
//! as fast as the system lets it (kiln: `RemoteRef::send`, which waits
//! when the per-peer queue is full; ractor: `cast`, whose queues are
//! unbounded) and one `Flush`, which arrives after them: messages over the
//! time until its answer. A lost or reordered message fails the run. Both
//! sides use rustls 0.23 with aws-lc-rs and TLS 1.3, certificates from one
//! throw-away CA, client certificates checked.
//!
//! - **kiln**: kiln-remote nodes on runtimes with a worker per core; a
//!   node started from a `Runtime` runs on its first worker, and the server
//!   and client actors are thread-local actors of that worker (kiln's
//!   default kind of actor), so a message between an actor and its node's
//!   link stays on one thread. The server actor is registered under three
//!   names (a name takes one message type). `kiln-poll` is the same on
//!   kiln's epoll driver (both nodes).
//! - **ractor_cluster** 0.16.5: `NodeServer`s on tokio's multi-thread
//!   runtime, the server's actor found through the process group it joins,
//!   `call_t!` and `cast` on its remote `ActorRef`; TLS through
//!   `IncomingEncryptionMode::Tls` and `client_connect_enc`. It is built
//!   from `bench/ractor-cluster`, a workspace of its own (ractor's `cluster`
//!   feature would change the other ractor workloads).

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kiln::actor::{self, actor_fn};
use kiln::actor_ref::rpc::RpcMessage;
use kiln::from_message;
use kiln::supervisor::NoSupervisor;
use kiln_remote::test::TestCa;
use kiln_remote::{Config, Message, Node, Security, TlsIdentity};
use kiln_rt::access::ThreadLocal;
use kiln_rt::spawn::ActorOptions;
use kiln_rt::timer::{Deadline, Timer};
use kiln_rt::{Runtime, RuntimeRef};
use serde::{Deserialize, Serialize};

/// The workloads.
pub(crate) const RPC: &str = "W9-rpc";
pub(crate) const ONE_WAY: &str = "W9-oneway";

/// The systems W9 measures.
pub(crate) const SYSTEMS: [&str; 3] = ["kiln", "kiln-poll", "ractor_cluster"];

/// A round trip.
#[derive(Serialize, Deserialize)]
struct Ping(u64);

/// Its answer.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Pong(u64);

/// A one-way message.
#[derive(Serialize, Deserialize)]
struct Count(u64);

/// How many arrived, in order (`u64::MAX` if not).
#[derive(Serialize, Deserialize)]
struct Flush;

/// The answer to `Flush`.
#[derive(Serialize, Deserialize)]
struct Counted(u64);

/// The stable names of W9's messages.
macro_rules! names {
    ($($message:ident = $name:literal),* $(,)?) => {
        $(impl Message for $message {
            const NAME: &'static str = $name;
        })*
    };
}

names!(
    Ping = "w9.Ping",
    Pong = "w9.Pong",
    Count = "w9.Count",
    Flush = "w9.Flush",
    Counted = "w9.Counted",
);

enum ServerMessage {
    Ping(RpcMessage<Ping, Pong>),
    Count(Count),
    Flush(RpcMessage<Flush, Counted>),
}

from_message!(
    ServerMessage::Ping(Ping) -> Pong,
    ServerMessage::Count(Count),
    ServerMessage::Flush(Flush) -> Counted,
);

async fn server_actor(mut ctx: actor::Context<ServerMessage, ThreadLocal>) {
    let mut count = 0;
    let mut in_order = true;
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            ServerMessage::Ping(RpcMessage { request, response }) => {
                let _ = response.respond(Pong(request.0));
            }
            ServerMessage::Count(Count(n)) => {
                in_order &= n == count;
                count += 1;
            }
            ServerMessage::Flush(RpcMessage { response, .. }) => {
                let _ = response.respond(Counted(if in_order { count } else { u64::MAX }));
                count = 0;
                in_order = true;
            }
        }
    }
}

fn identity(dir: &Path, name: &str) -> Result<TlsIdentity, String> {
    TlsIdentity::from_pem_files(
        dir.join("ca.pem"),
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    )
    .map_err(|err| err.to_string())
}

/// Runs `f` on the runtime's first worker, where `Node::start` puts a
/// node started from the `Runtime`: the actors it spawns there are
/// thread-local on the node's worker, so messages between them and the
/// node's links stay on one thread.
fn on_first_worker<T: Send + 'static>(
    runtime: &mut Runtime,
    f: impl FnOnce(&mut RuntimeRef) -> Result<T, String> + Send + Clone + 'static,
) -> Result<T, String> {
    let (out, result) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), String> {
            if rt.worker_index() == 0 {
                let _ = out.send(f(&mut rt));
            }
            Ok(())
        })
        .map_err(|err| err.to_string())?;
    result
        .try_recv()
        .map_err(|_| "no first worker".to_owned())?
}

/// A runtime with a worker per core and node `name` on it (mutual TLS with
/// the certificates in `dir`, a send queue of 4,096), joining `seed`.
fn start_node(
    system: &str,
    dir: &Path,
    name: &str,
    seed: Option<SocketAddr>,
) -> Result<(Runtime, Node), String> {
    let security = Security::MutualTls(identity(dir, name)?);
    let config = Config::new("w9", name, "127.0.0.1:0".parse().unwrap(), security)
        .with_seeds(seed)
        .with_send_queue(4096);
    let mut runtime = crate::peer::kiln_setup(system)
        .use_all_cores()
        .build()
        .map_err(|err| err.to_string())?;
    let node = Node::start(&mut runtime, config).map_err(|err| err.to_string())?;
    Ok((runtime, node))
}

/// `--child W9-server kiln DIR` (or `kiln-poll`, on epoll): serves until
/// standard input closes.
pub(crate) fn serve(system: &str, dir: &Path) -> Result<(), String> {
    let (mut runtime, node) = start_node(system, dir, "w9-server", None)?;
    let registering = node.clone();
    on_first_worker(&mut runtime, move |rt| {
        let options = ActorOptions::default().with_inbox_size(kiln::InboxSize::fixed(4096));
        let actor_ref = rt.spawn_local(NoSupervisor, actor_fn(server_actor), (), options);
        let node = registering;
        node.register_rpc::<Ping, Pong, _>("w9-ping", actor_ref.clone())
            .and_then(|()| node.register::<Count>("w9-count", actor_ref.clone().map()))
            .and_then(|()| node.register_rpc::<Flush, Counted, _>("w9-flush", actor_ref))
            .map_err(|err| err.to_string())
    })?;
    println!("listening {}", node.address());
    std::thread::spawn(move || {
        for _ in std::io::stdin().lock().lines() {}
        node.stop();
    });
    runtime.start().map_err(|err| err.to_string())
}

/// The kiln client: round trips, then one-way messages.
async fn client_actor(
    ctx: actor::Context<(), ThreadLocal>,
    node: Node,
    calls: u64,
    messages: u64,
    result: mpsc::Sender<Result<(f64, f64, f64), String>>,
) {
    let rt = ctx.runtime_ref().clone();
    let outcome = client(&rt, &node, calls, messages).await;
    node.stop();
    let _ = result.send(outcome);
}

async fn client(
    rt: &ThreadLocal,
    node: &Node,
    calls: u64,
    messages: u64,
) -> Result<(f64, f64, f64), String> {
    let started = Instant::now();
    let (ping, count, flush) = loop {
        if let (Ok(ping), Ok(count), Ok(flush)) = (
            node.lookup::<Ping>("w9-ping"),
            node.lookup::<Count>("w9-count"),
            node.lookup::<Flush>("w9-flush"),
        ) {
            break (ping, count, flush);
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err("the server's actors never showed up".to_owned());
        }
        Timer::after(rt.clone(), Duration::from_millis(10)).await;
    };
    let timeout = Duration::from_secs(5);
    for n in 0..calls / 10 {
        Deadline::after(rt.clone(), timeout, ping.rpc::<Pong>(Ping(n)))
            .await
            .map_err(|err| err.to_string())?;
    }
    let mut times = Vec::with_capacity(calls as usize);
    for n in 0..calls {
        let start = Instant::now();
        let answer = Deadline::after(rt.clone(), timeout, ping.rpc::<Pong>(Ping(n)))
            .await
            .map_err(|err| err.to_string())?;
        times.push(start.elapsed().as_nanos() as f64);
        if answer != Pong(n) {
            return Err(format!("call {n} answered {answer:?}"));
        }
    }
    times.sort_by(f64::total_cmp);
    let p50 = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];

    let start = Instant::now();
    for n in 0..messages {
        count
            .send(Count(n))
            .await
            .map_err(|err| format!("message {n}: {err}"))?;
    }
    let Counted(counted) = Deadline::after(
        rt.clone(),
        Duration::from_secs(120),
        flush.rpc::<Counted>(Flush),
    )
    .await
    .map_err(|err| err.to_string())?;
    let elapsed = start.elapsed();
    if counted != messages {
        return Err(format!(
            "{messages} messages sent, {counted} counted in order"
        ));
    }
    Ok((p50, p99, messages as f64 / elapsed.as_secs_f64()))
}

/// A server in a child process; stops when dropped (its standard input
/// closes).
struct ServerProcess {
    child: Child,
}

impl ServerProcess {
    /// Starts `command`, waits for its `listening ...` line.
    fn start(mut command: Command) -> Result<(ServerProcess, String), String> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|err| format!("can't start the server: {err}"))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|err| err.to_string())?;
        let Some(address) = line.trim().strip_prefix("listening ") else {
            let _ = child.kill();
            return Err(format!("unexpected server output: {line:?}"));
        };
        Ok((ServerProcess { child }, address.to_owned()))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Certificates for both nodes, in a directory removed on drop.
pub(crate) struct Certs(PathBuf);

impl Certs {
    pub(crate) fn new() -> Result<Certs, String> {
        let dir = std::env::temp_dir().join(format!("kiln-bench-w9-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|err| err.to_string())?;
        let ca = TestCa::new("kiln-bench W9 CA").map_err(|err| err.to_string())?;
        for name in ["w9-server", "w9-client"] {
            let pem = ca.node_pem(name).map_err(|err| err.to_string())?;
            let write = |file: String, text: &str| {
                std::fs::write(dir.join(file), text).map_err(|err| err.to_string())
            };
            write("ca.pem".to_owned(), &pem.ca)?;
            write(format!("{name}.pem"), &pem.cert)?;
            write(format!("{name}.key"), &pem.key)?;
        }
        Ok(Certs(dir))
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free port on loopback (ractor_cluster takes a port, not an address).
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|err| err.to_string())?;
    Ok(listener.local_addr().map_err(|err| err.to_string())?.port())
}

/// The ractor_cluster peer's binary, built once.
fn ractor_cluster_binary() -> Result<PathBuf, String> {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("ractor-cluster/Cargo.toml");
            let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ractor-cluster");
            eprintln!("W9: building the ractor_cluster peer (bench/ractor-cluster)");
            let mut cargo = Command::new(env!("CARGO"));
            // The compiler that built kiln-bench builds the peer too. Run
            // outside `cargo run`, `rustc` would be rustup's proxy, which
            // obeys a dependency's `rust-toolchain.toml` (dashmap 6.2 pins
            // 1.85) when it compiles that dependency.
            let rustc = Path::new(env!("CARGO")).with_file_name("rustc");
            if std::env::var_os("RUSTC").is_none() && rustc.is_file() {
                cargo.env("RUSTC", rustc);
            }
            let status = cargo
                .args(["build", "--release", "--quiet", "--manifest-path"])
                .arg(&manifest)
                .arg("--target-dir")
                .arg(&target)
                .status()
                .map_err(|err| format!("can't run cargo: {err}"))?;
            if !status.success() {
                return Err("building bench/ractor-cluster failed".to_owned());
            }
            Ok(target.join("release/w9-ractor-cluster"))
        })
        .clone()
}

/// One run: `(p50 ns, p99 ns, messages per second)`.
pub(crate) fn run(
    system: &str,
    certs: &Certs,
    calls: u64,
    messages: u64,
) -> Result<(f64, f64, f64), String> {
    match system {
        "kiln" | "kiln-poll" => run_kiln(system, &certs.0, calls, messages),
        "ractor_cluster" => run_ractor_cluster(&certs.0, calls, messages),
        _ => Err(format!("W9 does not run {system}")),
    }
}

fn run_kiln(
    system: &str,
    dir: &Path,
    calls: u64,
    messages: u64,
) -> Result<(f64, f64, f64), String> {
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    let mut command = Command::new(exe);
    command.args(["--child", "W9-server", system]).arg(dir);
    let (_server, address) = ServerProcess::start(command)?;
    let seed: SocketAddr = address.parse().map_err(|err| format!("{err}: {address}"))?;

    let (mut runtime, node) = start_node(system, dir, "w9-client", Some(seed))?;
    let (result, outcome) = mpsc::channel();
    on_first_worker(&mut runtime, move |rt| {
        rt.spawn_local(
            NoSupervisor,
            actor_fn(client_actor),
            (node, calls, messages, result),
            ActorOptions::default(),
        );
        Ok(())
    })?;
    runtime.start().map_err(|err| err.to_string())?;
    outcome
        .recv()
        .map_err(|_| "the client ended without a result".to_owned())?
}

fn run_ractor_cluster(dir: &Path, calls: u64, messages: u64) -> Result<(f64, f64, f64), String> {
    let binary = ractor_cluster_binary()?;
    let port = free_port()?;
    let mut command = Command::new(&binary);
    command.arg("server").arg(dir).arg(port.to_string());
    let (_server, _) = ServerProcess::start(command)?;
    let output = Command::new(&binary)
        .arg("client")
        .arg(dir)
        .args([port, free_port()?].map(|port| port.to_string()))
        .args([calls, messages].map(|n| n.to_string()))
        .output()
        .map_err(|err| format!("can't run the client: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "client failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<f64> = stdout
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    match numbers.as_slice() {
        [p50, p99, per_sec] => Ok((*p50, *p99, *per_sec)),
        _ => Err(format!("unexpected client output: {stdout}")),
    }
}
