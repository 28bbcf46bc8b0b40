//! A node in a child process, driven by commands on its standard input
//! and reporting on its standard output, one line each; and the parent's
//! side of it. The test binary runs itself as the child (the ignored test
//! `child_node`, with `KILN_REMOTE_CHILD` set).
//!
//! Commands: `sinks N` (wait until N sinks are known, then `sinks-ready`),
//! `send NODE COUNT` (COUNT numbered messages to NODE's sink, then
//! `sent NODE COUNT`), `report` (`received FROM COUNT dups=D reordered=R`
//! per sender, then `report-end`), `watch NODE` (then `watch-event
//! EVENT`), `lookup NAME` (`lookup NAME found` or `not-found`), `members`
//! (`members NAME,NAME`), `quit`. Unprompted: `started ADDRESS`, `member-up NAME`,
//! `member-down NAME`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kiln::actor::{self, actor_fn};
use kiln::supervisor::NoSupervisor;
use kiln_remote::{Config, MemberEvent, Node, Security, TlsIdentity, WatchEvent};
use kiln_rt::Runtime;
use kiln_rt::access::ThreadSafe;
use kiln_rt::spawn::{ActorOptions, Spawn};
use kiln_rt::timer::Timer;

use super::{Numbered, moderate};

/// What the child prints to.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Per sender: messages, duplicates, out of order, the last number.
#[derive(Default, Debug)]
struct Counts {
    count: u64,
    dups: u64,
    reordered: u64,
    next: u64,
}

enum SinkMsg {
    Message(Numbered),
    Report,
}

impl From<Numbered> for SinkMsg {
    fn from(msg: Numbered) -> SinkMsg {
        SinkMsg::Message(msg)
    }
}

async fn sink(mut ctx: actor::Context<SinkMsg, ThreadSafe>) {
    let mut counts: HashMap<u32, Counts> = HashMap::new();
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            SinkMsg::Message(Numbered { from, seq }) => {
                let counts = counts.entry(from).or_default();
                counts.count += 1;
                if seq < counts.next {
                    counts.dups += 1;
                } else if seq > counts.next {
                    counts.reordered += 1;
                }
                counts.next = counts.next.max(seq + 1);
            }
            SinkMsg::Report => {
                let mut senders: Vec<_> = counts.iter().collect();
                senders.sort_by_key(|(from, _)| **from);
                for (from, c) in senders {
                    say(&format!(
                        "received {from} {} dups={} reordered={}",
                        c.count, c.dups, c.reordered
                    ));
                }
                say("report-end");
            }
        }
    }
}

async fn events(mut ctx: actor::Context<MemberEvent, ThreadSafe>) {
    while let Ok(event) = ctx.receive_next().await {
        match event {
            MemberEvent::Up { node, .. } => say(&format!("member-up {node}")),
            MemberEvent::Down { node } => say(&format!("member-down {node}")),
        }
    }
}

async fn watches(mut ctx: actor::Context<WatchEvent, ThreadSafe>) {
    while let Ok(event) = ctx.receive_next().await {
        say(&format!("watch-event {event:?}"));
    }
}

/// Runs commands from standard input (through `lines`).
async fn commands(
    ctx: actor::Context<(), ThreadSafe>,
    node: Node,
    id: u32,
    lines: mpsc::Receiver<String>,
    sink_ref: kiln::ActorRef<SinkMsg>,
    watcher: kiln::ActorRef<WatchEvent>,
) {
    let rt = ctx.runtime_ref().clone();
    loop {
        let line = match lines.try_recv() {
            Ok(line) => line,
            Err(mpsc::TryRecvError::Empty) => {
                Timer::after(rt.clone(), Duration::from_millis(5)).await;
                continue;
            }
            Err(mpsc::TryRecvError::Disconnected) => "quit".to_owned(),
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["sinks", n] => {
                let n: usize = n.parse().unwrap();
                loop {
                    let known = node.members().len() + 1 >= n
                        && node
                            .members()
                            .iter()
                            .map(|(name, _)| name.clone())
                            .chain([node.name().to_owned()])
                            .all(|name| node.lookup::<Numbered>(&format!("sink-{name}")).is_ok());
                    if known {
                        break;
                    }
                    Timer::after(rt.clone(), Duration::from_millis(10)).await;
                }
                say("sinks-ready");
            }
            ["send", target, count] => {
                let count: u64 = count.parse().unwrap();
                let sink = node.lookup::<Numbered>(&format!("sink-{target}")).unwrap();
                let mut sent = 0;
                for seq in 0..count {
                    if sink.send(Numbered { from: id, seq }).await.is_err() {
                        break;
                    }
                    sent += 1;
                }
                say(&format!("sent {target} {sent}"));
            }
            ["lookup", name] => {
                let found = node.lookup::<Numbered>(name).is_ok();
                say(&format!(
                    "lookup {name} {}",
                    if found { "found" } else { "not-found" }
                ));
            }
            ["members"] => {
                let names: Vec<String> = node.members().into_iter().map(|(name, _)| name).collect();
                say(&format!("members {}", names.join(",")));
            }
            ["report"] => {
                let _ = sink_ref.send(SinkMsg::Report).await;
            }
            ["watch", target] => match node.lookup::<Numbered>(&format!("sink-{target}")) {
                Ok(remote) => {
                    node.watch(&remote, watcher.clone());
                    say("watching");
                }
                Err(err) => say(&format!("watch-failed {err}")),
            },
            ["quit"] => {
                // The runtime ends once the node's actors have; then the
                // process.
                node.stop();
                return;
            }
            _ => say(&format!("unknown-command {line}")),
        }
    }
}

/// Writes warnings and errors to standard error, naming the process.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "[child {}] {}: {}",
                std::process::id(),
                record.level(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLog = StderrLog;

/// The child: a node from `KILN_REMOTE_CHILD` = `NAME ID SEEDS CERT_DIR`
/// (SEEDS comma-separated or `-`; CERT_DIR holds `ca.pem`, `NAME.pem`,
/// `NAME.key`, or is `-` for plaintext).
pub(crate) fn child_main(spec: &str) {
    let _ = log::set_logger(&LOGGER).map(|()| log::set_max_level(log::LevelFilter::Warn));
    let parts: Vec<&str> = spec.split(' ').collect();
    let [name, id, seeds, certs] = parts.as_slice() else {
        panic!("bad spec {spec}")
    };
    let id: u32 = id.parse().unwrap();
    let seeds: Vec<SocketAddr> = if *seeds == "-" {
        Vec::new()
    } else {
        seeds.split(',').map(|s| s.parse().unwrap()).collect()
    };
    let security = if *certs == "-" {
        Security::InsecurePlaintext
    } else {
        let dir = Path::new(certs);
        Security::MutualTls(
            TlsIdentity::from_pem_files(
                dir.join("ca.pem"),
                dir.join(format!("{name}.pem")),
                dir.join(format!("{name}.key")),
            )
            .unwrap(),
        )
    };
    let config = moderate(Config::new(
        "test",
        *name,
        "127.0.0.1:0".parse().unwrap(),
        security,
    ))
    .with_seeds(seeds)
    .with_send_queue(4096);
    let mut runtime = Runtime::setup().use_all_cores().build().unwrap();
    let node = Node::start(&mut runtime, config).unwrap();
    let sink_ref = runtime.spawn(
        NoSupervisor,
        actor_fn(sink),
        (),
        ActorOptions::default().with_inbox_size(kiln::InboxSize::fixed(4096)),
    );
    node.register::<Numbered>(&format!("sink-{name}"), sink_ref.clone().map())
        .unwrap();
    let events_ref = runtime.spawn(NoSupervisor, actor_fn(events), (), ActorOptions::default());
    node.subscribe(events_ref);
    let watcher = runtime.spawn(NoSupervisor, actor_fn(watches), (), ActorOptions::default());
    let (line_in, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line_in.send(line).is_err() {
                break;
            }
        }
    });
    say(&format!("started {}", node.address()));
    runtime.spawn(
        NoSupervisor,
        actor_fn(commands),
        (node, id, lines, sink_ref, watcher),
        ActorOptions::default(),
    );
    runtime.start().unwrap();
}

/// The parent's handle on a child node.
pub(crate) struct ChildNode {
    pub(crate) name: String,
    pub(crate) child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    pub(crate) address: SocketAddr,
}

impl ChildNode {
    /// Starts `name` (with number `id`) seeded with `seeds`; `certs` is a
    /// directory of PEM files or `None` for plaintext.
    pub(crate) fn start(
        name: &str,
        id: u32,
        seeds: &[SocketAddr],
        certs: Option<&Path>,
    ) -> ChildNode {
        let seeds = if seeds.is_empty() {
            "-".to_owned()
        } else {
            seeds
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let certs = certs.map_or("-".to_owned(), |dir| dir.display().to_string());
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_node", "--ignored", "--nocapture"])
            .env("KILN_REMOTE_CHILD", format!("{name} {id} {seeds} {certs}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (line_out, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_out.send(line).is_err() {
                    break;
                }
            }
        });
        let mut node = ChildNode {
            name: name.to_owned(),
            child,
            stdin,
            lines,
            address: "0.0.0.0:0".parse().unwrap(),
        };
        let started = node.expect(|line| line.starts_with("started "), super::TIMEOUT);
        node.address = started["started ".len()..].parse().unwrap();
        node
    }

    pub(crate) fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The first line (from now) that `check` accepts; panics after
    /// `timeout`.
    pub(crate) fn expect(
        &mut self,
        mut check: impl FnMut(&str) -> bool,
        timeout: Duration,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if check(&line) => return line,
                Ok(_) => {}
                Err(err) => panic!(
                    "node '{}': no expected line within {timeout:?}: {err}",
                    self.name
                ),
            }
        }
    }

    /// The first line each of `checks` accepts, in whatever order they
    /// come (a node prints the lines of independent actors, such as a
    /// watcher and a membership subscriber, in the order those ran); panics
    /// after `timeout`.
    pub(crate) fn expect_each<const N: usize>(
        &mut self,
        checks: [&dyn Fn(&str) -> bool; N],
        timeout: Duration,
    ) -> [String; N] {
        let deadline = Instant::now() + timeout;
        let mut found: [Option<String>; N] = [const { None }; N];
        while found.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(err) => panic!(
                    "node '{}': not every expected line within {timeout:?} (found {found:?}): {err}",
                    self.name
                ),
            };
            let open = (0..N).find(|&i| found[i].is_none() && checks[i](&line));
            if let Some(i) = open {
                found[i] = Some(line);
            }
        }
        found.map(|line| line.expect("all found"))
    }

    /// The sink's counts per sender: (count, dups, reordered).
    pub(crate) fn report(&mut self) -> HashMap<u32, (u64, u64, u64)> {
        self.command("report");
        let mut counts = HashMap::new();
        loop {
            let line = self.expect(
                |line| line.starts_with("received ") || line == "report-end",
                super::TIMEOUT,
            );
            if line == "report-end" {
                return counts;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let number = |word: &str| word.rsplit('=').next().unwrap().parse::<u64>().unwrap();
            counts.insert(
                words[1].parse().unwrap(),
                (number(words[2]), number(words[3]), number(words[4])),
            );
        }
    }

    /// Every line until the process ends (after `quit`).
    pub(crate) fn remaining_lines(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(super::TIMEOUT) {
            lines.push(line);
        }
        lines
    }

    /// Sends the process `signal` (`STOP`, `CONT`, ...) with kill(1).
    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}: {status}", self.name);
    }

    /// Kills the process with SIGKILL.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
