//! 1: A cluster of three nodes, each in a process of its own, linked by
//! mutual TLS: every node greets the others through their registered
//! `greeter` actors, and notices when one of them dies.
//!
//! ```text
//! cargo run -p kiln-remote --example remote_1_cluster -- --demo
//! ```
//!
//! `--demo` makes a throw-away certificate authority and a certificate per
//! node, starts the three nodes as child processes on loopback, waits until
//! each has greeted the other two, kills one with SIGKILL, waits until the
//! other two declare it dead, prints a summary line and exits 0.
//!
//! One node by hand (with `ca.pem`, `NAME.pem` and `NAME.key` in DIR):
//!
//! ```text
//! cargo run -p kiln-remote --example remote_1_cluster -- node NAME LISTEN DIR [SEED]
//! ```

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kiln::actor::{self, actor_fn};
use kiln::actor_ref::rpc::RpcMessage;
use kiln::supervisor::NoSupervisor;
use kiln_remote::test::TestCa;
use kiln_remote::{Config, MemberEvent, Message, Node, RpcError, Security, TlsIdentity};
use kiln_rt::access::ThreadSafe;
use kiln_rt::spawn::{ActorOptions, Spawn};
use kiln_rt::timer::{Deadline, Timer};
use kiln_rt::{Runtime, Signal};
use serde::{Deserialize, Serialize};

/// A greeting request: who greets.
#[derive(Serialize, Deserialize)]
struct Greet {
    from: String,
}

impl Message for Greet {
    const NAME: &'static str = "cluster-example.Greet";
}

/// The answer.
#[derive(Serialize, Deserialize)]
struct Greeting(String);

impl Message for Greeting {
    const NAME: &'static str = "cluster-example.Greeting";
}

/// Answers greetings.
async fn greeter(mut ctx: actor::Context<RpcMessage<Greet, Greeting>, ThreadSafe>, name: String) {
    while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
        let _ = response.respond(Greeting(format!("hello {}, from {name}", request.from)));
    }
}

/// Prints members coming and going, and greets each new one.
async fn members(mut ctx: actor::Context<MemberEvent, ThreadSafe>, node: Node) {
    let me = node.name().to_owned();
    while let Ok(event) = ctx.receive_next().await {
        match event {
            MemberEvent::Up {
                node: other,
                address,
            } => {
                println!("{me}: {other} is up at {address}");
                let mut rt = ctx.runtime().clone();
                let node = node.clone();
                rt.spawn(
                    NoSupervisor,
                    actor_fn(greet),
                    (node, other),
                    ActorOptions::default(),
                );
            }
            MemberEvent::Down { node: other } => println!("{me}: {other} is down"),
        }
    }
}

/// Greets `other` once its greeter is known (the registry reaches a node
/// shortly after the member does).
///
/// Delivery is at most once: a request on a link that is lost before the
/// answer may or may not have been handled. While both nodes live a link
/// is lost only when something is wrong (two nodes dialling each other at
/// once lose nothing: the link is chosen before either sends on it), but
/// on a machine so loaded that a node misses the demo's quick SWIM
/// deadlines (900 ms), the others declare it dead and close its link, and
/// it rejoins. A greeting can be repeated safely, so it is asked again, a
/// few times.
async fn greet(ctx: actor::Context<(), ThreadSafe>, node: Node, other: String) {
    let rt = ctx.runtime_ref().clone();
    let name = format!("greeter-{other}");
    let mut retries = 3;
    for _ in 0..500 {
        if let Ok(greeter) = node.lookup::<Greet>(&name) {
            let call = greeter.rpc::<Greeting>(Greet {
                from: node.name().to_owned(),
            });
            match Deadline::after(rt.clone(), Duration::from_secs(5), call).await {
                Ok(Greeting(text)) => println!("{}: {other} answered: {text}", node.name()),
                Err(RpcError::ConnectionLost | RpcError::NotSent) if retries > 0 => {
                    retries -= 1;
                    println!(
                        "{}: the link to {other} was lost, asking again",
                        node.name()
                    );
                    Timer::after(rt.clone(), Duration::from_millis(50)).await;
                    continue;
                }
                Err(err) => println!("{}: {other} did not answer: {err}", node.name()),
            }
            return;
        }
        Timer::after(rt.clone(), Duration::from_millis(10)).await;
    }
    println!("{}: {other}'s greeter never showed up", node.name());
}

/// Stops the node on Ctrl-C (or SIGTERM).
async fn stopper(mut ctx: actor::Context<Signal, ThreadSafe>, node: Node) {
    while let Ok(signal) = ctx.receive_next().await {
        if signal.should_exit() {
            node.stop();
            return;
        }
    }
}

/// Runs one node.
fn node(
    name: &str,
    listen: SocketAddr,
    certs: &Path,
    seed: Option<SocketAddr>,
) -> Result<(), Box<dyn std::error::Error>> {
    let identity = TlsIdentity::from_pem_files(
        certs.join("ca.pem"),
        certs.join(format!("{name}.pem")),
        certs.join(format!("{name}.key")),
    )?;
    let config = Config::new("example", name, listen, Security::MutualTls(identity))
        .with_seeds(seed)
        // Quick to notice a dead node, for the demo (defaults: 1 s, 3 s).
        .with_probe_period(Duration::from_millis(300))
        .with_probe_timeout(Duration::from_millis(150))
        .with_suspect_timeout(Duration::from_millis(900));
    let mut runtime = Runtime::setup().use_all_cores().build()?;
    let node = Node::start(&mut runtime, config)?;
    let greeter_ref = runtime.spawn(
        NoSupervisor,
        actor_fn(greeter),
        name.to_owned(),
        ActorOptions::default(),
    );
    node.register_rpc::<Greet, Greeting, _>(&format!("greeter-{name}"), greeter_ref)?;
    let members_ref = runtime.spawn(
        NoSupervisor,
        actor_fn(members),
        node.clone(),
        ActorOptions::default(),
    );
    node.subscribe(members_ref);
    let stopper_ref = runtime.spawn(
        NoSupervisor,
        actor_fn(stopper),
        node.clone(),
        ActorOptions::default(),
    );
    runtime.receive_signals(stopper_ref);
    println!("{name} listening on {}", node.address());
    drop(node);
    runtime.start()?;
    Ok(())
}

/// A child process running a node, its lines sent to `lines`.
fn spawn_node(
    name: &str,
    certs: &Path,
    seed: Option<SocketAddr>,
    lines: &mpsc::Sender<String>,
) -> std::io::Result<Child> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["node", name, "127.0.0.1:0"]).arg(certs);
    if let Some(seed) = seed {
        command.arg(seed.to_string());
    }
    let mut child = command.stdout(Stdio::piped()).spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let lines = lines.clone();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    Ok(child)
}

/// Waits for a line that `wanted` accepts, printing every line; fails
/// after 30 s.
fn wait_for(
    lines: &mpsc::Receiver<String>,
    what: &str,
    mut wanted: impl FnMut(&str) -> bool,
) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                println!("  | {line}");
                if wanted(&line) {
                    return Ok(line);
                }
            }
            Err(_) => return Err(format!("timed out waiting for {what}")),
        }
    }
}

/// The demo; see the module docs.
fn demo() -> Result<String, Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("kiln-remote-demo-{}", std::process::id()));
    let _cleanup = RemoveDir(dir.clone());
    std::fs::create_dir_all(&dir)?;
    let ca = TestCa::new("demo cluster CA")?;
    for name in ["node-1", "node-2", "node-3"] {
        let pem = ca.node_pem(name)?;
        std::fs::write(dir.join("ca.pem"), &pem.ca)?;
        std::fs::write(dir.join(format!("{name}.pem")), &pem.cert)?;
        std::fs::write(dir.join(format!("{name}.key")), &pem.key)?;
    }
    println!("made a CA and a certificate per node in {}", dir.display());

    let (line_out, lines) = mpsc::channel();
    let started = Instant::now();
    let mut children = Children(Vec::new());
    children
        .0
        .push(spawn_node("node-1", &dir, None, &line_out)?);
    let first = wait_for(&lines, "node-1 to listen", |line| {
        line.starts_with("node-1 listening on ")
    })?;
    let seed: SocketAddr = first["node-1 listening on ".len()..].parse()?;
    children
        .0
        .push(spawn_node("node-2", &dir, Some(seed), &line_out)?);
    children
        .0
        .push(spawn_node("node-3", &dir, Some(seed), &line_out)?);

    // Each node greets the other two.
    let mut answered = 0;
    wait_for(&lines, "six greetings", |line| {
        answered += usize::from(line.contains(" answered: hello "));
        answered == 6
    })?;
    let formed = started.elapsed();

    // SIGKILL node-3: no goodbye, the others must notice.
    let killed = Instant::now();
    children.0[2].kill()?;
    let _ = children.0[2].wait();
    println!("killed node-3 (SIGKILL)");
    let mut noticed = Vec::new();
    wait_for(&lines, "node-1 and node-2 to declare node-3 dead", |line| {
        if line.ends_with(": node-3 is down") {
            noticed.push((line[..6].to_owned(), killed.elapsed()));
        }
        noticed.len() == 2
    })?;
    noticed.sort();
    Ok(format!(
        "summary: 3 nodes in 3 processes formed a cluster over mutual TLS and exchanged 6 greetings in {} ms; \
         node-3 was killed with SIGKILL and declared dead by {} after {} ms and by {} after {} ms",
        formed.as_millis(),
        noticed[0].0,
        noticed[0].1.as_millis(),
        noticed[1].0,
        noticed[1].1.as_millis()
    ))
}

/// Kills the child processes when dropped.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Removes a directory when dropped.
struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const USAGE: &str =
    "usage: remote_1_cluster --demo\n       remote_1_cluster node NAME LISTEN CERT_DIR [SEED]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--demo"] => demo().map(|summary| println!("{summary}")),
        ["node", name, listen, certs, rest @ ..] if rest.len() <= 1 => (|| {
            let seed = rest.first().map(|seed| seed.parse()).transpose()?;
            node(name, listen.parse()?, Path::new(certs), seed)
        })(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("remote_1_cluster: {err}");
            ExitCode::FAILURE
        }
    }
}
