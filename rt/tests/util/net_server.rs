//! `kiln_rt::net::Server` in the tests: supervisors that fail the test
//! ([`fail_connection`], [`fail_server`]), a server on a free loopback port
//! ([`loopback_server`]), and a server spawned on every worker of a runtime
//! ([`spawn_on_every_worker`]), TCP or Unix, and the check that both
//! workers served ([`assert_spread`]).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use kiln::ActorRef;
use kiln::actor::NewActor;
use kiln::supervisor::{Supervisor, SupervisorStrategy};
use kiln_rt::net::{Listener, Server, ServerError, ServerMessage, ServerSetup, TcpStream};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// Fails the test when a connection actor fails.
pub(crate) fn fail_connection(err: io::Error) -> SupervisorStrategy<(TcpStream, SocketAddr)> {
    panic!("connection actor failed: {err}");
}

/// Fails the test when a server (TCP or Unix) fails.
pub(crate) fn fail_server<L: Listener>(err: ServerError<L>) -> SupervisorStrategy<()> {
    panic!("server failed: {err}");
}

/// A `Server` on a free loopback port that starts `new_actor` for each
/// connection, supervised by `supervisor`.
pub(crate) fn loopback_server<S, NA>(
    supervisor: S,
    new_actor: NA,
) -> ServerSetup<S, NA, NA::RuntimeAccess>
where
    NA: NewActor<Argument = (TcpStream, SocketAddr)>,
{
    let address = "127.0.0.1:0".parse().unwrap();
    let server = Server::new(address, supervisor, new_actor, ActorOptions::default())
        .expect("can't bind a server to a free loopback port");
    assert_ne!(server.local_addr().port(), 0, "bound to port 0");
    server
}

/// Spawns `server` (a `Server::new` or `Server::new_unix` setup) as a
/// thread-local actor on every worker of `runtime`, supervised by
/// [`fail_server`]; returns their references, one a worker.
pub(crate) fn spawn_on_every_worker<S, NA, L>(
    runtime: &mut Runtime,
    server: ServerSetup<S, NA, ThreadLocal, L>,
) -> Vec<ActorRef<ServerMessage>>
where
    L: Listener,
    ServerSetup<S, NA, ThreadLocal, L>: NewActor<
            Message = ServerMessage,
            Argument = (),
            Error = io::Error,
            RuntimeAccess = ThreadLocal,
        > + Clone
        + Send
        + 'static,
    fn(ServerError<L>) -> SupervisorStrategy<()>: Supervisor<ServerSetup<S, NA, ThreadLocal, L>>,
{
    let (sender, refs) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
            let supervisor: fn(ServerError<L>) -> SupervisorStrategy<()> = fail_server;
            let server_ref = rt.try_spawn_local(supervisor, server, (), ActorOptions::default())?;
            sender.send(server_ref).unwrap();
            Ok(())
        })
        .expect("can't spawn the servers");
    refs.try_iter().collect()
}

/// Fails unless the two workers together served `connections` connections
/// (counted in `per_worker`) and each served some.
#[track_caller]
pub(crate) fn assert_spread(per_worker: &[AtomicUsize; 2], connections: usize) {
    let counts = per_worker
        .each_ref()
        .map(|count| count.load(Ordering::Relaxed));
    assert_eq!(
        counts[0] + counts[1],
        connections,
        "connections per worker: {counts:?}"
    );
    assert!(
        counts[0] > 0 && counts[1] > 0,
        "connections not spread: {counts:?}"
    );
}
