//! 3: Synchronous actors.
//!
//! A synchronous actor is a plain function that may block, so it gets a
//! thread of its own. Its `receive_next` blocks the thread until a message
//! arrives; `block_on` waits for a future, such as an RPC to another actor.

use std::thread;
use std::time::Duration;

use kiln::actor_ref::RpcMessage;
use kiln::supervisor::NoSupervisor;
use kiln::sync::{self, SyncActorRunnerBuilder};
use kiln::{ActorFuture, ActorRef, actor, actor_fn};

/// A blocking "disk" writer: each write takes a while.
fn writer(mut ctx: sync::Context<String>, numberer: ActorRef<RpcMessage<(), u64>>) {
    while let Ok(line) = ctx.receive_next() {
        // Ask an asynchronous actor for the line number, blocking until it
        // answers.
        let number = ctx.block_on(numberer.rpc(())).expect("numberer stopped");
        thread::sleep(Duration::from_millis(10)); // Blocking is fine here.
        println!("{number}: {line}");
    }
    println!("writer: all lines written");
}

/// Hands out increasing numbers.
async fn numberer(mut ctx: actor::Context<RpcMessage<(), u64>>) {
    let mut next = 1;
    while let Ok(RpcMessage { response, .. }) = ctx.receive_next().await {
        let _ = response.respond(next);
        next += 1;
    }
}

fn main() -> std::io::Result<()> {
    // The numberer runs as a future on a thread of its own.
    let (numberer_future, numberer_ref) = ActorFuture::new(NoSupervisor, actor_fn(numberer), ());
    let numberer_thread = thread::spawn(move || sync::block_on(numberer_future));

    // The writer gets a thread named after it.
    let (writer_thread, writer_ref) = SyncActorRunnerBuilder::new()
        .with_thread_name("writer")
        .spawn(NoSupervisor, actor_fn(writer), numberer_ref)?;

    for line in ["first line", "second line", "third line"] {
        // `send` waits while the writer's inbox is full.
        sync::block_on(writer_ref.send(line)).expect("writer stopped");
    }
    drop(writer_ref);

    let exit = writer_thread.join().expect("writer thread panicked");
    println!("writer {exit}");
    numberer_thread.join().expect("numberer thread panicked");
    Ok(())
}
