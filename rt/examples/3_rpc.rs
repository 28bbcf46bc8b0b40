//! 3: Request and response between actors on the runtime.
//!
//! A thread-local client asks a thread-local key-value store to set and get
//! values with `ActorRef::rpc`; `from_message!` writes the conversions.

use std::collections::HashMap;
use std::convert::Infallible;

use kiln::actor_ref::RpcMessage;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn, from_message};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// The store's messages.
enum Message {
    /// Set a key, answering with the previous value.
    Set(RpcMessage<(String, u64), Option<u64>>),
    /// Get a key.
    Get(RpcMessage<String, Option<u64>>),
}

from_message!(Message::Set((String, u64)) -> Option<u64>, Message::Get(String) -> Option<u64>);

async fn store(mut ctx: actor::Context<Message, ThreadLocal>) {
    let mut values = HashMap::new();
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            Message::Set(RpcMessage {
                request: (key, value),
                response,
            }) => {
                let _ = response.respond(values.insert(key, value));
            }
            Message::Get(RpcMessage {
                request: key,
                response,
            }) => {
                let _ = response.respond(values.get(&key).copied());
            }
        }
    }
}

async fn client(
    _: actor::Context<(), ThreadLocal>,
    store: ActorRef<Message>,
) -> Result<(), kiln::actor_ref::RpcError> {
    let previous = store.rpc(("apples".to_owned(), 3)).await?;
    println!("set apples to 3 (previously {previous:?})");
    let previous = store.rpc(("apples".to_owned(), 5)).await?;
    println!("set apples to 5 (previously {previous:?})");
    let apples = store.rpc("apples".to_owned()).await?;
    println!("apples: {apples:?}");
    let pears = store.rpc("pears".to_owned()).await?;
    println!("pears: {pears:?}");
    Ok(())
}

fn main() -> Result<(), kiln_rt::Error> {
    let mut runtime = Runtime::new()?;
    runtime.run_on_workers(|mut rt: RuntimeRef| -> Result<(), Infallible> {
        let store = rt.spawn_local(NoSupervisor, actor_fn(store), (), ActorOptions::default());
        rt.spawn_local(
            |err| {
                eprintln!("client failed: {err}");
                kiln::SupervisorStrategy::Stop
            },
            actor_fn(client),
            store,
            ActorOptions::default(),
        );
        Ok(())
    })?;
    runtime.start()
}
