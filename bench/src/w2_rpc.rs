//! W2: request and response (RPC) between a caller and a server on one
//! thread; the 50th and 99th percentile of nanoseconds per call.
//!
//! The caller sends `n` and waits for the server's answer, `n + 1`, before it
//! sends the next request. Each call is timed on its own with `Instant`; the
//! times are sorted once all calls are done.
//!
//! - **kiln**: thread-local actors on a one-worker runtime; the server takes
//!   `RpcMessage`s, the caller (an actor too) calls `ActorRef::rpc`.
//! - **tokio**: two tasks on a `current_thread` runtime; a bounded `mpsc`
//!   channel of 8 carrying the request and a `oneshot::Sender` for the
//!   response.
//! - **actix**: the server is an `Actor` whose `Handler` returns the answer,
//!   mailbox capacity 8; the caller, a task on the `System`'s thread, calls
//!   `Addr::send`.
//! - **kameo**: the server is an `Actor` whose `Message` implementation
//!   returns the answer, bounded mailbox of 8; the caller, a task on the same
//!   `current_thread` runtime, calls `ask`.
//! - **ractor**: the server is an `Actor` taking a message with an
//!   `RpcReplyPort` (its mailbox is unbounded: ractor has no other); the
//!   caller, a task on the same `current_thread` runtime, calls `call!`.

use std::convert::Infallible;
use std::sync::mpsc;
use std::time::Instant;

use actix::Actor as _;
use kameo::actor::Spawn as _;
use kiln::actor_ref::RpcMessage;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, RuntimeRef, ThreadLocal};
use tokio::sync::oneshot;

use crate::peer::{self, CAPACITY};

/// Makes `calls` calls on `system`; returns the 50th and 99th percentile of
/// ns per call.
pub(crate) fn run(system: &str, calls: u64) -> Result<(f64, f64), String> {
    match system {
        "kiln" | "kiln-poll" => kiln(system, calls),
        "tokio" => tokio(calls),
        "actix" => actix(calls),
        "kameo" => kameo(calls),
        "ractor" => ractor(calls),
        _ => Err(format!("unknown system {system}")),
    }
}

/// The times of the calls, shared by every system's caller.
struct Latencies {
    nanos: Vec<u64>,
}

impl Latencies {
    fn with_capacity(calls: u64) -> Latencies {
        Latencies {
            nanos: Vec::with_capacity(calls as usize),
        }
    }

    /// Records the call of `n` that started at `start` and was answered with
    /// `reply`.
    fn record(&mut self, start: Instant, n: u64, reply: Result<u64, String>) -> Result<(), String> {
        self.nanos.push(start.elapsed().as_nanos() as u64);
        match reply? {
            m if m == n + 1 => Ok(()),
            m => Err(format!("call {n}: expected {}, got {m}", n + 1)),
        }
    }

    /// The 50th and 99th percentile.
    fn percentiles(mut self) -> Result<(f64, f64), String> {
        if self.nanos.is_empty() {
            return Err("no calls".into());
        }
        self.nanos.sort_unstable();
        let at = |p: usize| self.nanos[(self.nanos.len() * p / 100).min(self.nanos.len() - 1)];
        Ok((at(50) as f64, at(99) as f64))
    }
}

// kiln.

async fn server(mut ctx: actor::Context<RpcMessage<u64, u64>, ThreadLocal>) {
    while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
        let _ = response.respond(request + 1);
    }
}

async fn caller(
    _: actor::Context<(), ThreadLocal>,
    server: ActorRef<RpcMessage<u64, u64>>,
    calls: u64,
    result: mpsc::Sender<Result<(f64, f64), String>>,
) {
    let mut latencies = Latencies::with_capacity(calls);
    for n in 0..calls {
        let start = Instant::now();
        let reply = server.rpc(n).await.map_err(|err| err.to_string());
        if let Err(err) = latencies.record(start, n, reply) {
            let _ = result.send(Err(err));
            return;
        }
    }
    let _ = result.send(latencies.percentiles());
}

fn kiln(system: &str, calls: u64) -> Result<(f64, f64), String> {
    let (sender, receiver) = mpsc::channel();
    let mut runtime = peer::kiln_setup(system)
        .num_threads(1)
        .build()
        .map_err(|err| err.to_string())?;
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let server =
                rt.spawn_local(NoSupervisor, actor_fn(server), (), ActorOptions::default());
            rt.spawn_local(
                NoSupervisor,
                actor_fn(caller),
                (server, calls, sender.clone()),
                ActorOptions::default(),
            );
            Ok(())
        })
        .map_err(|err| err.to_string())?;
    runtime.start().map_err(|err| err.to_string())?;
    receiver.recv().map_err(|err| err.to_string())?
}

// tokio.

fn tokio(calls: u64) -> Result<(f64, f64), String> {
    peer::current_thread()?.block_on(async move {
        let (requests, mut inbox) =
            tokio::sync::mpsc::channel::<(u64, oneshot::Sender<u64>)>(CAPACITY);
        let server = tokio::spawn(async move {
            while let Some((request, response)) = inbox.recv().await {
                let _ = response.send(request + 1);
            }
        });
        let caller = tokio::spawn(async move {
            let mut latencies = Latencies::with_capacity(calls);
            for n in 0..calls {
                let start = Instant::now();
                let (response, reply) = oneshot::channel();
                let reply = match requests.send((n, response)).await {
                    Ok(()) => reply.await.map_err(|_| "no response".to_owned()),
                    Err(_) => Err("server stopped".to_owned()),
                };
                latencies.record(start, n, reply)?;
            }
            latencies.percentiles()
        });
        let result = caller.await.map_err(|err| err.to_string())?;
        server.await.map_err(|err| err.to_string())?;
        result
    })
}

// actix, kameo and ractor share the request.

struct Request(u64);

// actix.

impl actix::Message for Request {
    type Result = u64;
}

struct ActixServer;

impl actix::Actor for ActixServer {
    type Context = actix::Context<Self>;
}

impl actix::Handler<Request> for ActixServer {
    type Result = u64;

    fn handle(&mut self, Request(n): Request, _: &mut actix::Context<Self>) -> u64 {
        n + 1
    }
}

fn actix(calls: u64) -> Result<(f64, f64), String> {
    actix::System::new().block_on(async move {
        let server = ActixServer::create(|ctx| {
            ctx.set_mailbox_capacity(CAPACITY);
            ActixServer
        });
        let caller = actix::spawn(async move {
            let mut latencies = Latencies::with_capacity(calls);
            for n in 0..calls {
                let start = Instant::now();
                let reply = server.send(Request(n)).await.map_err(|err| err.to_string());
                latencies.record(start, n, reply)?;
            }
            latencies.percentiles()
        });
        caller.await.map_err(|err| err.to_string())?
    })
}

// kameo.

#[derive(kameo::Actor)]
struct KameoServer;

impl kameo::message::Message<Request> for KameoServer {
    type Reply = u64;

    async fn handle(
        &mut self,
        Request(n): Request,
        _: &mut kameo::message::Context<Self, u64>,
    ) -> u64 {
        n + 1
    }
}

fn kameo(calls: u64) -> Result<(f64, f64), String> {
    peer::current_thread()?.block_on(async move {
        let server =
            KameoServer::spawn_with_mailbox(KameoServer, kameo::mailbox::bounded(CAPACITY));
        let caller = tokio::spawn(async move {
            let mut latencies = Latencies::with_capacity(calls);
            for n in 0..calls {
                let start = Instant::now();
                let reply = server.ask(Request(n)).await.map_err(|err| err.to_string());
                latencies.record(start, n, reply)?;
            }
            latencies.percentiles()
        });
        caller.await.map_err(|err| err.to_string())?
    })
}

// ractor.

enum RactorRequest {
    Call(u64, ractor::RpcReplyPort<u64>),
}

struct RactorServer;

impl ractor::Actor for RactorServer {
    type Msg = RactorRequest;
    type State = ();
    type Arguments = ();

    async fn pre_start(
        &self,
        _: ractor::ActorRef<Self::Msg>,
        (): (),
    ) -> Result<(), ractor::ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _: ractor::ActorRef<Self::Msg>,
        RactorRequest::Call(n, reply): RactorRequest,
        (): &mut (),
    ) -> Result<(), ractor::ActorProcessingErr> {
        let _ = reply.send(n + 1);
        Ok(())
    }
}

fn ractor(calls: u64) -> Result<(f64, f64), String> {
    peer::current_thread()?.block_on(async move {
        let (server, handle) = ractor::Actor::spawn(None, RactorServer, ())
            .await
            .map_err(|err| err.to_string())?;
        let caller = {
            let server = server.clone();
            tokio::spawn(async move {
                let mut latencies = Latencies::with_capacity(calls);
                for n in 0..calls {
                    let start = Instant::now();
                    let reply = ractor::call!(server, RactorRequest::Call, n)
                        .map_err(|err| err.to_string());
                    latencies.record(start, n, reply)?;
                }
                latencies.percentiles()
            })
        };
        let result = caller.await.map_err(|err| err.to_string());
        server.stop(None);
        handle.await.map_err(|err| err.to_string())?;
        result?
    })
}
