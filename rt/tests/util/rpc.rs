//! An RPC server and client actor for tests that call across threads.

use std::sync::mpsc;

use kiln::ActorRef;
use kiln::actor;
use kiln::actor_ref::RpcMessage;
use kiln_rt::ThreadSafe;

/// Answers each request with the request plus one, until every reference is
/// gone.
pub(crate) async fn incrementer(mut ctx: actor::Context<RpcMessage<u64, u64>, ThreadSafe>) {
    while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
        response
            .respond(request + 1)
            .expect("the caller stopped waiting");
    }
}

/// Calls `server` `calls` times, checking each answer against the
/// [`incrementer`]'s, and reports how many were right; thread-local or
/// thread-safe (`RT`).
pub(crate) async fn client<RT>(
    _: actor::Context<(), RT>,
    server: ActorRef<RpcMessage<u64, u64>>,
    calls: u64,
    report: mpsc::Sender<u64>,
) {
    let mut right = 0;
    for n in 0..calls {
        if server.rpc(n).await == Ok(n + 1) {
            right += 1;
        }
    }
    report.send(right).unwrap();
}
