//! 2: Request and response.
//!
//! `ActorRef::rpc` sends a request and waits for the actor's response. The
//! actor's message is an enum; `from_message!` writes the conversions so the
//! reference accepts each variant's payload. The actors run on tokio, to show
//! that `ActorFuture` works on any executor.

use kiln::actor_ref::RpcMessage;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorFuture, ActorRef, actor, actor_fn, from_message};

/// The messages of the counter actor.
enum Message {
    /// Add to the count.
    Add(u64),
    /// Ask for the count.
    Get(RpcMessage<(), u64>),
}

from_message!(Message::Add(u64), Message::Get(()) -> u64);

/// Keeps a count.
async fn counter(mut ctx: actor::Context<Message>) {
    let mut count = 0;
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            Message::Add(n) => count += n,
            Message::Get(rpc) => {
                // The caller may have stopped waiting; nothing to do then.
                let _ = rpc.handle(|()| async { count }).await;
            }
        }
    }
}

/// Adds to the counter and asks it for the result.
async fn client(counter: ActorRef<Message>) -> Result<(), kiln::actor_ref::RpcError> {
    for n in [1u64, 2, 3] {
        // `send` waits if the counter's inbox is full.
        counter.send(n).await.expect("counter stopped");
    }
    let count = counter.rpc(()).await?;
    println!("count after adding 1, 2 and 3: {count}");

    counter.send(10u64).await.expect("counter stopped");
    let count: u64 = counter.rpc(()).await?;
    println!("count after adding 10: {count}");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let (future, counter) = ActorFuture::new(NoSupervisor, actor_fn(counter), ());
        let handle = tokio::spawn(future);
        client(counter).await?;
        // The client dropped the last reference: the counter stops.
        handle.await?;
        println!("counter stopped");
        Ok(())
    })
}
