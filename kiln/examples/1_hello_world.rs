//! 1: Hello, World!
//!
//! An actor is an async function that receives messages. `ActorFuture` turns
//! it into a plain `Future`, so any executor can run it: here the smallest
//! executor there is, written below in a dozen lines.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use kiln::supervisor::NoSupervisor;
use kiln::{ActorFuture, actor, actor_fn};

fn main() {
    // Create the actor with its argument, the greeting. We get the future
    // that runs it and a reference to send it messages.
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(greeter), "Hello");

    // Messages wait in the actor's inbox until it runs.
    actor_ref.try_send("World").expect("can't send message");
    actor_ref.try_send("kiln").expect("can't send message");
    // Once every reference is gone and the inbox is empty, the actor's
    // `receive_next` fails and its loop ends.
    drop(actor_ref);

    block_on(future);
}

/// The actor: greets everyone it receives a message about.
async fn greeter(mut ctx: actor::Context<String>, greeting: &'static str) {
    while let Ok(name) = ctx.receive_next().await {
        println!("{greeting}, {name}!");
    }
}

/// A minimal executor: polls the future, and parks the thread until the
/// future's waker unparks it.
fn block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker(Thread);

    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}
