//! Regression test, named after the bug: receives dropped in one actor turn beyond the ring's
//! submission queue (1,024 entries) were not all cancelled.
//!
//! a10 0.4.3 queues an operation's cancellation when its future is dropped while the kernel still
//! runs it, and skips it (logging at debug level) when the submission queue is full. A receive
//! that is not cancelled keeps its socket open in the kernel although kiln closed the descriptor,
//! so its peer never sees the end of the stream (RELIABILITY.md: 976 of 2,000 cancellations
//! skipped in a 2,000-receive burst with a smaller ring).
//!
//! An actor on a runtime with one worker connects [`STREAMS`] Unix streams to a listener of the
//! test, keeps a receive pending on each, and when told to drops them all (receives and streams)
//! in one turn. Every peer must then read the end of its stream within [`EOF_WAIT`]. Once with a
//! thread-local actor (the worker's ring), once with a thread-safe one (the runtime's shared
//! ring). A test binary of its own: the test opens 6,000 descriptors at a time.
//!
//! The bug is io_uring's; on the epoll driver (`KILN_IO_DRIVER=poll`) a dropped receive has
//! nothing in the kernel to cancel, and the same test checks that dropping that many at once
//! still closes every stream.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io::{self, Read};
use std::os::unix::net::UnixStream as StdStream;
use std::path::PathBuf;
use std::pin::{Pin, pin};
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::Spawn;
use kiln_rt::net::unix::UnixStream;
use kiln_rt::{Access, ActorOptions, Runtime, RuntimeRef, ThreadLocal, ThreadSafe};
use socket2::{Domain, SockAddr, Socket, Type};

mod util;

use util::one_at_a_time::one_at_a_time;
use util::temp_dir::TempDir;
use util::timeout::TIMEOUT;

/// Receives dropped in one turn: almost three times the submission queue.
const STREAMS: usize = 3000;
/// How long the receives get to start before they are dropped. Without room in the submission
/// queue a receive waits for the ring to be submitted, which takes a few turns of the worker.
const SETTLE: Duration = Duration::from_millis(300);
/// How long the peers get to see the end of their streams.
const EOF_WAIT: Duration = Duration::from_secs(10);

/// What the test tells the actor.
#[derive(Debug)]
enum Step {
    /// Drop every receive and stream, in this turn.
    DropAll,
    /// Return.
    Stop,
}

/// What the actor tells the test.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    /// Connected and polled every receive once.
    Receiving,
    /// Dropped every receive and stream in one turn.
    Dropped,
    /// What went wrong.
    Failed(String),
}

type Receive = Pin<Box<dyn Future<Output = io::Result<Vec<u8>>> + Send>>;

/// Connects [`STREAMS`] streams to `path`, keeps a receive pending on each until told to drop
/// them, then drops them all in one turn.
async fn burst<RT: Access + Clone>(
    mut ctx: actor::Context<Step, RT>,
    path: PathBuf,
    events: mpsc::Sender<Event>,
) {
    let rt = ctx.runtime_ref().clone();
    let mut receives: Vec<Receive> = Vec::with_capacity(STREAMS);
    for n in 0..STREAMS {
        let stream = match UnixStream::connect(&rt, &path).await {
            Ok(stream) => stream,
            Err(err) => {
                let _ = events.send(Event::Failed(format!("can't connect stream {n}: {err}")));
                return;
            }
        };
        receives.push(Box::pin(async move {
            stream.recv(Vec::with_capacity(16)).await
        }));
    }
    let mut reported = false;
    let step = {
        let mut next = pin!(ctx.receive_next());
        // Polls every receive (each one that waited for room in the submission queue starts
        // when the ring wakes it) until a message comes.
        poll_fn(|cx| {
            for (n, receive) in receives.iter_mut().enumerate() {
                if let Poll::Ready(result) = receive.as_mut().poll(cx) {
                    return Poll::Ready(Err(format!("receive {n} ended: {result:?}")));
                }
            }
            if !reported {
                reported = true;
                let _ = events.send(Event::Receiving);
            }
            next.as_mut().poll(cx).map(Ok)
        })
        .await
    };
    match step {
        Ok(Ok(Step::DropAll)) => {
            drop(receives);
            let _ = events.send(Event::Dropped);
        }
        Ok(other) => {
            let _ = events.send(Event::Failed(format!("unexpected message: {other:?}")));
            return;
        }
        Err(err) => {
            let _ = events.send(Event::Failed(err));
            return;
        }
    }
    let _ = ctx.receive_next().await;
}

/// A listener with room for every stream in its backlog, accepting without blocking.
fn listener(path: &PathBuf) -> Socket {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None).expect("can't create the listener");
    socket
        .bind(&SockAddr::unix(path).expect("bad socket path"))
        .expect("can't bind the listener");
    socket.listen(4096).expect("can't listen");
    socket
        .set_nonblocking(true)
        .expect("can't make the listener non-blocking");
    socket
}

/// Accepts [`STREAMS`] connections from `listener` (failing if `events` reports a failure first),
/// as non-blocking streams.
fn accept_all(listener: &Socket, events: &mpsc::Receiver<Event>) -> Vec<StdStream> {
    let deadline = Instant::now() + TIMEOUT;
    let mut peers = Vec::with_capacity(STREAMS);
    while peers.len() < STREAMS {
        match listener.accept() {
            Ok((socket, _)) => {
                socket
                    .set_nonblocking(true)
                    .expect("can't make a peer non-blocking");
                peers.push(StdStream::from(std::os::fd::OwnedFd::from(socket)));
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                match events.try_recv() {
                    Ok(Event::Failed(err)) => panic!("the actor failed: {err}"),
                    Ok(event) => panic!("unexpected {event:?} after {} streams", peers.len()),
                    Err(_) => {}
                }
                assert!(
                    Instant::now() < deadline,
                    "only {} streams connected in time",
                    peers.len()
                );
                thread::sleep(Duration::from_millis(1));
            }
            Err(err) => panic!("can't accept: {err}"),
        }
    }
    peers
}

/// Waits for the actor's next event, which must be `expected`.
fn expect_event(events: &mpsc::Receiver<Event>, expected: &Event) {
    match events.recv_timeout(TIMEOUT) {
        Ok(event) if event == *expected => {}
        Ok(Event::Failed(err)) => panic!("expected {expected:?}, the actor failed: {err}"),
        Ok(event) => panic!("expected {expected:?}, the actor reported {event:?}"),
        Err(err) => panic!("expected {expected:?}, the actor reported nothing: {err}"),
    }
}

/// How many of `peers` read the end of their stream within [`EOF_WAIT`].
fn peers_at_eof(peers: &mut [StdStream]) -> usize {
    let deadline = Instant::now() + EOF_WAIT;
    let mut at_eof = vec![false; peers.len()];
    let mut buf = [0; 16];
    loop {
        for (peer, at_eof) in peers.iter_mut().zip(&mut at_eof) {
            if *at_eof {
                continue;
            }
            match peer.read(&mut buf) {
                Ok(0) => *at_eof = true,
                Ok(n) => panic!("a peer received {n} bytes"),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => panic!("a peer can't read: {err}"),
            }
        }
        let count = at_eof.iter().filter(|&&eof| eof).count();
        if count == peers.len() || Instant::now() >= deadline {
            return count;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Runs the scenario of the module docs with the actor `spawn` starts on a runtime with one
/// worker.
fn dropped_receives_are_cancelled(
    name: &str,
    spawn: impl FnOnce(&mut Runtime, PathBuf, mpsc::Sender<Event>) -> ActorRef<Step> + Send + 'static,
) {
    let _one = one_at_a_time();
    let dir = TempDir::new(&format!("cancel-burst-{name}"));
    let path = dir.join("listener.sock");
    let listener = listener(&path);
    let (events_sender, events) = mpsc::channel();
    let (refs_sender, refs) = mpsc::channel();
    let (done, runtime_result) = mpsc::channel();
    thread::spawn(move || {
        let mut runtime = Runtime::setup()
            .num_threads(1)
            .build()
            .expect("can't build the runtime");
        refs_sender
            .send(spawn(&mut runtime, path, events_sender))
            .unwrap();
        let _ = done.send(runtime.start().map_err(|err| err.to_string()));
    });
    let actor_ref = refs.recv_timeout(TIMEOUT).expect("no actor");
    let mut peers = accept_all(&listener, &events);
    expect_event(&events, &Event::Receiving);
    thread::sleep(SETTLE);
    actor_ref
        .try_send(Step::DropAll)
        .expect("can't send to the actor");
    expect_event(&events, &Event::Dropped);
    let at_eof = peers_at_eof(&mut peers);
    actor_ref
        .try_send(Step::Stop)
        .expect("can't send to the actor");
    match runtime_result.recv_timeout(TIMEOUT) {
        Ok(Ok(())) => {}
        Ok(Err(err)) => panic!("the runtime failed: {err}"),
        Err(err) => panic!("the runtime did not stop: {err}"),
    }
    assert_eq!(
        at_eof,
        STREAMS,
        "{} of {STREAMS} peers never saw the end of their stream: the receives on them were not \
         cancelled",
        STREAMS - at_eof
    );
}

#[test]
fn dropped_receives_beyond_the_submission_queue_are_cancelled() {
    dropped_receives_are_cancelled("local", |runtime, path, events| {
        let (sender, actor_ref) = mpsc::channel();
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                let arg = (path.clone(), events.clone());
                let options = ActorOptions::default();
                let actor = actor_fn(burst::<ThreadLocal>);
                sender
                    .send(rt.spawn_local(NoSupervisor, actor, arg, options))
                    .unwrap();
                Ok(())
            })
            .expect("can't spawn the actor");
        actor_ref.recv().unwrap()
    });
}

#[test]
fn dropped_thread_safe_receives_beyond_the_submission_queue_are_cancelled() {
    dropped_receives_are_cancelled("shared", |runtime, path, events| {
        let options = ActorOptions::default();
        let actor = actor_fn(burst::<ThreadSafe>);
        runtime
            .try_spawn(NoSupervisor, actor, (path, events), options)
            .expect("can't spawn the actor")
    });
}
