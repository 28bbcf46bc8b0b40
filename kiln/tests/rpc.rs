//! RPC helpers: the RPC types reachable from `kiln::actor_ref`, and
//! `RpcMessage::try_handle` (success, failure, and callers that left).

use std::cell::Cell;
use std::num::ParseIntError;

use kiln::actor;
use kiln::actor_ref::{ActorExit, ResponseError, RpcError, RpcMessage, RpcResponse};
use kiln::supervisor::StopSupervisor;
use kiln::sync::block_on;
use kiln::{ActorFuture, actor_fn};

#[test]
fn rpc_types_are_reachable_from_actor_ref() {
    // Named through `kiln::actor_ref` (the `use` above), where users look.
    let (msg, receiver) = RpcMessage::<u8, u8>::new(1);
    drop(receiver);
    let response: RpcResponse<u8> = msg.response;
    let err: ResponseError<u8> = response.respond(2).unwrap_err();
    assert_eq!(err.into_inner(), 2);
}

#[test]
fn try_handle_responds_with_the_output() {
    let (msg, mut receiver) = RpcMessage::<&str, u32>::new("41");
    let result = block_on(msg.try_handle(|text| async move { text.parse::<u32>() }));
    assert_eq!(result, Ok(Ok(())));
    assert_eq!(receiver.try_recv().ok(), Some(41));
}

#[test]
fn try_handle_returns_the_error_and_sends_nothing() {
    let (msg, mut receiver) = RpcMessage::<&str, u32>::new("forty-one");
    let result = block_on(msg.try_handle(|text| async move { text.parse::<u32>() }));
    let err = result.expect_err("a parse error must be returned");
    assert_eq!(err.to_string(), "invalid digit found in string");
    // The response was dropped unsent: the caller learns there is none.
    assert!(receiver.try_recv().is_err());
    assert!(!receiver.is_connected());
}

#[test]
fn try_handle_skips_callers_that_left() {
    let (msg, receiver) = RpcMessage::<u32, u32>::new(1);
    drop(receiver);
    let called = Cell::new(false);
    let result = block_on(msg.try_handle(|n| {
        called.set(true);
        async move { Err::<u32, String>(format!("{n}")) }
    }));
    assert_eq!(result, Ok(Ok(())));
    assert!(!called.get(), "handler ran without a caller");
}

#[test]
fn try_handle_gives_the_response_back_if_the_caller_leaves_meanwhile() {
    let (msg, receiver) = RpcMessage::<u32, u32>::new(4);
    let result = block_on(msg.try_handle(move |n| {
        drop(receiver);
        async move { Ok::<_, String>(n * 10) }
    }));
    let inner = result.expect("the handler succeeded");
    assert_eq!(inner.map_err(ResponseError::into_inner), Err(40));
}

/// Parses numbers for its callers, failing on text that is not one.
async fn parser(mut ctx: actor::Context<RpcMessage<String, u64>>) -> Result<(), ParseIntError> {
    while let Ok(msg) = ctx.receive_next().await {
        let _ = msg.try_handle(|text| async move { text.parse() }).await?;
    }
    Ok(())
}

#[test]
fn an_actor_fails_with_the_error_of_try_handle() {
    let (future, actor_ref) = ActorFuture::new(StopSupervisor, actor_fn(parser), ());
    let handle = std::thread::spawn(move || block_on(future));
    block_on(async {
        assert_eq!(actor_ref.rpc("12".to_owned()).await, Ok(12));
        assert_eq!(
            actor_ref.rpc("twelve".to_owned()).await,
            Err::<u64, _>(RpcError::NoResponse)
        );
        assert_eq!(actor_ref.join().await, ActorExit::Failed);
    });
    handle.join().unwrap();
}
