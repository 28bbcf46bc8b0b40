//! Unix domain sockets when something goes wrong: a receive dropped when its deadline passes,
//! then the socket used again (streams and datagrams, in thread-local and thread-safe actors);
//! and the errors, naming the path or name, of binding to a path that exists and of connecting or
//! sending to one that does not.

use std::io;
use std::time::Duration;

use kiln_rt::Access;
use kiln_rt::net::unix::{UnixDatagram, UnixListener, UnixStream};
use kiln_rt::timer::Deadline;

mod util;

use util::check::{check_in_actor, check_in_thread_safe_actor, expect_eq, failed};
use util::temp_dir::TempDir;
use util::timeout::TIMEOUT;
use util::unix::abstract_addr;

/// Receives time out (their futures are dropped while the kernel waits), then the sockets are used
/// again: everything sent afterwards arrives whole.
async fn dropped_receives<RT: Access + Clone>(rt: RT) -> Result<(), String> {
    let (a, b) = UnixStream::pair(&rt).map_err(failed("stream pair"))?;
    let (c, d) = UnixDatagram::pair(&rt).map_err(failed("datagram pair"))?;
    let wait = Duration::from_millis(20);
    for i in 0..10_u8 {
        let timed_out = match i % 4 {
            0 => Deadline::after(rt.clone(), wait, b.recv(Vec::with_capacity(64))).await,
            1 => Deadline::after(rt.clone(), wait, b.recv_n(Vec::with_capacity(64), 2)).await,
            2 => Deadline::after(rt.clone(), wait, d.recv(Vec::with_capacity(64))).await,
            _ => Deadline::after(rt.clone(), wait, d.recv_from(Vec::with_capacity(64)))
                .await
                .map(|(buf, _)| buf),
        };
        match timed_out {
            Err(err) if err.kind() == io::ErrorKind::TimedOut => {}
            Err(err) => return Err(format!("try {i}: the receive failed: {err}")),
            Ok(buf) => return Err(format!("try {i}: received {buf:?}, which no one sent")),
        }
        let message = vec![i; 10 + usize::from(i)];
        a.send_all(message.clone())
            .await
            .map_err(failed("send_all"))?;
        let recv = b.recv_n(Vec::with_capacity(64), message.len());
        let buf = Deadline::after(rt.clone(), TIMEOUT, recv)
            .await
            .map_err(|err| format!("try {i}: no bytes after the dropped receive: {err}"))?;
        expect_eq("bytes after a dropped receive", &buf, &message)?;
        c.send(message.clone()).await.map_err(failed("send"))?;
        let buf = Deadline::after(rt.clone(), TIMEOUT, d.recv(Vec::with_capacity(64)))
            .await
            .map_err(|err| format!("try {i}: no datagram after the dropped receive: {err}"))?;
        expect_eq("datagram after a dropped receive", &buf, &message)?;
    }
    Ok(())
}

#[test]
fn dropped_receive_then_reuse_in_a_thread_local_actor() {
    check_in_actor(dropped_receives);
}

#[test]
fn dropped_receive_then_reuse_in_a_thread_safe_actor() {
    check_in_thread_safe_actor(dropped_receives);
}

/// Fails unless `result` is an error of `kind` whose message names `name`.
fn expect_error<T>(
    what: &str,
    result: io::Result<T>,
    kind: io::ErrorKind,
    name: &str,
) -> Result<(), String> {
    let err = match result {
        Ok(_) => return Err(format!("{what}: succeeded")),
        Err(err) => err,
    };
    expect_eq(what, err.kind(), kind)?;
    let msg = err.to_string();
    if !msg.contains(name) {
        return Err(format!("{what}: the error does not name {name}: {msg}"));
    }
    Ok(())
}

#[test]
fn binding_to_a_path_that_exists_fails_naming_it() {
    let dir = TempDir::new("bind-errors");
    let path = dir.join("taken.sock");
    let file = dir.join("file");
    std::fs::write(&file, "not a socket").unwrap();
    check_in_actor(move |rt| async move {
        let name = path.display().to_string();
        let _listener = UnixListener::bind(&rt, &path).map_err(failed("bind"))?;
        let in_use = io::ErrorKind::AddrInUse;
        expect_error(
            "listener on a socket",
            UnixListener::bind(&rt, &path),
            in_use,
            &name,
        )?;
        expect_error(
            "datagram on a socket",
            UnixDatagram::bind(&rt, &path),
            in_use,
            &name,
        )?;
        let name = file.display().to_string();
        expect_error(
            "listener on a file",
            UnixListener::bind(&rt, &file),
            in_use,
            &name,
        )?;
        expect_error(
            "datagram on a file",
            UnixDatagram::bind(&rt, &file),
            in_use,
            &name,
        )?;
        let address = abstract_addr("bind-errors");
        let _socket = UnixDatagram::bind_addr(&rt, &address).map_err(failed("bind_addr"))?;
        let name = format!("@kiln-rt-{}-bind-errors", std::process::id());
        expect_error(
            "abstract name",
            UnixDatagram::bind_addr(&rt, &address),
            in_use,
            &name,
        )?;
        let long = "x".repeat(200);
        let invalid = io::ErrorKind::InvalidInput;
        expect_error(
            "a path too long",
            UnixListener::bind(&rt, &long),
            invalid,
            &long,
        )?;
        Ok(())
    });
}

#[test]
fn connecting_or_sending_to_a_missing_path_fails_naming_it() {
    let dir = TempDir::new("connect-errors");
    let path = dir.join("missing.sock");
    check_in_actor(move |rt| async move {
        let name = path.display().to_string();
        let not_found = io::ErrorKind::NotFound;
        let connect = UnixStream::connect(&rt, &path).await;
        expect_error("stream connect", connect, not_found, &name)?;
        let socket = UnixDatagram::unbound(&rt).map_err(failed("unbound"))?;
        expect_error("datagram connect", socket.connect(&path), not_found, &name)?;
        let send = socket.send_to("hello", &path).await;
        expect_error("send_to", send, not_found, &name)?;
        // An abstract name no one bound.
        let address = abstract_addr("connect-errors");
        let name = format!("@kiln-rt-{}-connect-errors", std::process::id());
        let refused = io::ErrorKind::ConnectionRefused;
        let connect = UnixStream::connect_addr(&rt, &address).await;
        expect_error("stream connect to a name", connect, refused, &name)?;
        Ok(())
    });
}
