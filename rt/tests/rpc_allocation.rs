//! An RPC allocates nothing per call: its reply channel's block is taken
//! from, and given back to, a per-thread cache (`inbox/src/recycle.rs`), so
//! a caller that makes one call after another reuses one block. A reply from
//! another thread (a thread-safe actor on a worker, a caller on a plain
//! thread) still arrives, for every call.
//!
//! A counting global allocator (`tests/util/counting_alloc.rs`) counts each
//! thread's allocations.

use std::convert::Infallible;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use kiln::actor_ref::RpcMessage;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, Spawn, ThreadLocal, ThreadSafe};

mod util;

use util::counting_alloc::{Counting, allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Calls per test.
const CALLS: u64 = 10_000;

/// Answers `n` with `n + 1`.
async fn server<RT>(mut ctx: actor::Context<RpcMessage<u64, u64>, RT>) {
    while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
        let _ = response.respond(request + 1);
    }
}

/// Makes `CALLS` calls after a few to warm up, checking every answer;
/// reports the allocations its worker made during the calls.
async fn caller(
    _: actor::Context<(), ThreadLocal>,
    server: ActorRef<RpcMessage<u64, u64>>,
    report: mpsc::Sender<Result<usize, String>>,
) {
    for n in 0..10 {
        if server.rpc(n).await != Ok(n + 1) {
            let _ = report.send(Err(format!("warm-up call {n} failed")));
            return;
        }
    }
    let before = allocations();
    for n in 0..CALLS {
        let answer = server.rpc(n).await;
        if answer != Ok(n + 1) {
            let _ = report.send(Err(format!("call {n}: {answer:?}")));
            return;
        }
    }
    let _ = report.send(Ok(allocations() - before));
}

#[test]
fn calls_between_actors_on_one_worker_do_not_allocate() {
    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let (report, reports) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let server = rt.spawn_local(
                NoSupervisor,
                actor_fn(server::<ThreadLocal>),
                (),
                ActorOptions::default(),
            );
            rt.spawn_local(
                NoSupervisor,
                actor_fn(caller),
                (server, report.clone()),
                ActorOptions::default(),
            );
            Ok(())
        })
        .unwrap();
    runtime.start().unwrap();
    let allocated = reports
        .recv_timeout(Duration::from_secs(60))
        .expect("the caller reports")
        .unwrap();
    // Without the cache it is one per call (the reply channel); a few are
    // allowed for the worker's own bookkeeping.
    assert!(
        allocated < 10,
        "{allocated} allocations for {CALLS} calls: the reply channel is not reused"
    );
}

#[test]
fn replies_from_another_thread_arrive() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let server = runtime.spawn(
        NoSupervisor,
        actor_fn(server::<ThreadSafe>),
        (),
        ActorOptions::default(),
    );
    // The caller is a plain thread: every reply comes from a worker. It
    // gives up (and the runtime stops) if an answer does not come.
    let caller = thread::spawn(move || -> Result<(), String> {
        for n in 0..CALLS {
            match kiln::sync::block_for(server.rpc(n), Duration::from_secs(30)) {
                Some(Ok(answer)) if answer == n + 1 => {}
                Some(answer) => return Err(format!("call {n}: {answer:?}")),
                None => return Err(format!("call {n}: no answer within 30 s")),
            }
        }
        Ok(())
    });
    runtime.start().unwrap();
    caller.join().unwrap().unwrap();
}
