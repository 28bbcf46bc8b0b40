//! kiln-bench W9's peer: two ractor_cluster nodes, a server and a client,
//! in two processes on loopback, linked by mutual TLS 1.3 (rustls with
//! aws-lc-rs, as kiln-remote).
//!
//! ```text
//! w9-ractor-cluster server CERT_DIR PORT      # serves until standard input closes
//! w9-ractor-cluster client CERT_DIR PORT CLIENT_PORT CALLS MESSAGES
//! ```
//!
//! The server runs a `W9Actor` in the process group `w9`. The client
//! connects (`client_connect_enc`), waits for the remote member of `w9`,
//! makes `CALLS` sequential RPCs (`call_t!`, each timed), then casts
//! `MESSAGES` numbered one-way messages and one RPC that answers once all
//! arrived (the server checks their order); it prints the p50 and p99 of
//! the calls in ns and the messages per second.
//!
//! CERT_DIR holds `ca.pem`, `w9-server.pem`, `w9-server.key`,
//! `w9-client.pem` and `w9-client.key`.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use ractor_cluster::RactorClusterMessage;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const GROUP: &str = "w9";
const COOKIE: &str = "kiln-bench-w9";

/// The server actor's messages.
#[derive(RactorClusterMessage)]
enum W9Message {
    /// A round trip: answers with the number.
    #[rpc]
    Ping(u64, RpcReplyPort<u64>),
    /// A one-way message, numbered from 0.
    Count(u64),
    /// Answers how many `Count`s came since the last `Flush`; fails if one
    /// came out of order.
    #[rpc]
    Flush(RpcReplyPort<u64>),
}

struct W9Actor;

struct W9State {
    count: u64,
    in_order: bool,
}

impl Actor for W9Actor {
    type Msg = W9Message;
    type State = W9State;
    type Arguments = ();

    async fn pre_start(&self, myself: ActorRef<W9Message>, (): ()) -> Result<W9State, ActorProcessingErr> {
        ractor::pg::join(GROUP.to_owned(), vec![myself.get_cell()]);
        Ok(W9State {
            count: 0,
            in_order: true,
        })
    }

    async fn handle(
        &self,
        _: ActorRef<W9Message>,
        message: W9Message,
        state: &mut W9State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            W9Message::Ping(n, reply) => {
                let _ = reply.send(n);
            }
            W9Message::Count(n) => {
                state.in_order &= n == state.count;
                state.count += 1;
            }
            W9Message::Flush(reply) => {
                let count = if state.in_order { state.count } else { u64::MAX };
                state.count = 0;
                state.in_order = true;
                let _ = reply.send(count);
            }
        }
        Ok(())
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    Ok(CertificateDer::pem_file_iter(path)?.collect::<Result<Vec<_>, _>>()?)
}

/// The same provider as kiln-remote's.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(dir: &Path) -> Result<Arc<RootCertStore>, Error> {
    let mut roots = RootCertStore::empty();
    for cert in certs(&dir.join("ca.pem"))? {
        roots.add(cert)?;
    }
    Ok(Arc::new(roots))
}

fn acceptor(dir: &Path) -> Result<TlsAcceptor, Error> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(dir)?, provider()).build()?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certs(&dir.join("w9-server.pem"))?,
            PrivateKeyDer::from_pem_file(dir.join("w9-server.key"))?,
        )?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn connector(dir: &Path) -> Result<TlsConnector, Error> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots(dir)?)
        .with_client_auth_cert(
            certs(&dir.join("w9-client.pem"))?,
            PrivateKeyDer::from_pem_file(dir.join("w9-client.key"))?,
        )?;
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn server(dir: &Path, port: u16) -> Result<(), Error> {
    let node = ractor_cluster::NodeServer::new(
        port,
        COOKIE.to_owned(),
        "w9-server".to_owned(),
        "localhost".to_owned(),
        Some(ractor_cluster::IncomingEncryptionMode::Tls(acceptor(dir)?)),
        None,
    );
    let (node, node_handle) = Actor::spawn(None, node, ()).await?;
    let (actor, handle) = Actor::spawn(None, W9Actor, ()).await?;
    println!("listening {port}");
    // Serve until standard input closes.
    tokio::task::spawn_blocking(|| for _ in std::io::stdin().lock().lines() {}).await?;
    actor.stop(None);
    handle.await?;
    node.stop(None);
    node_handle.await?;
    Ok(())
}

async fn client(dir: &Path, port: u16, client_port: u16, calls: u64, messages: u64) -> Result<(), Error> {
    let node = ractor_cluster::NodeServer::new(
        client_port,
        COOKIE.to_owned(),
        "w9-client".to_owned(),
        "localhost".to_owned(),
        None,
        None,
    );
    let (node, node_handle) = Actor::spawn(None, node, ()).await?;
    ractor_cluster::client_connect_enc(
        &node,
        format!("127.0.0.1:{port}"),
        connector(dir)?,
        ServerName::try_from("w9-server")?,
    )
    .await?;
    // The server's actor shows up in the group once the nodes are
    // authenticated and have synchronised their groups.
    let started = Instant::now();
    let actor = loop {
        let remote = ractor::pg::get_members(&GROUP.to_owned())
            .into_iter()
            .find(|member| !member.get_id().is_local());
        if let Some(remote) = remote {
            break ActorRef::<W9Message>::from(remote);
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err("the server's actor never joined the group".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };

    // Round trips, after a warm-up.
    for n in 0..calls / 10 {
        ractor::call_t!(actor, W9Message::Ping, 5000, n)?;
    }
    let mut times = Vec::with_capacity(calls as usize);
    for n in 0..calls {
        let start = Instant::now();
        let answer = ractor::call_t!(actor, W9Message::Ping, 5000, n)?;
        times.push(start.elapsed().as_nanos() as u64);
        if answer != n {
            return Err(format!("call {n} answered {answer}").into());
        }
    }
    times.sort_unstable();
    let p50 = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];

    // One-way messages, then a call that comes after them.
    let start = Instant::now();
    for n in 0..messages {
        actor.cast(W9Message::Count(n))?;
    }
    let counted = ractor::call_t!(actor, W9Message::Flush, 120_000)?;
    let elapsed = start.elapsed();
    if counted != messages {
        return Err(format!("{messages} messages sent, {counted} counted in order").into());
    }
    let per_sec = messages as f64 / elapsed.as_secs_f64();
    println!("{p50} {p99} {per_sec:.0}");
    node.stop(None);
    node_handle.await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parse = |s: &str| s.parse::<u64>().unwrap_or_else(|_| panic!("not a number: {s}"));
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["server", dir, port] => server(Path::new(dir), parse(port) as u16).await,
        ["client", dir, port, client_port, calls, messages] => {
            client(Path::new(dir), parse(port) as u16, parse(client_port) as u16, parse(calls), parse(messages)).await
        }
        _ => Err("usage: w9-ractor-cluster server DIR PORT | client DIR PORT CLIENT_PORT CALLS MESSAGES".into()),
    };
    if let Err(err) = result {
        eprintln!("w9-ractor-cluster: {err}");
        std::process::exit(1);
    }
}
