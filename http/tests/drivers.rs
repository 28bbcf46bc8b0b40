//! kiln-http on each of kiln-rt's I/O drivers in one test process:
//! io_uring and epoll, each chosen with `Setup::with_io_driver`, so a
//! plain `cargo test` serves HTTP on both (CI also runs every test on
//! both, the second time with `KILN_IO_DRIVER=poll`). Where
//! `KILN_IO_DRIVER` is set it overrides the setup, and only its driver is
//! tested; where io_uring can't be used, only epoll is, with a message.

use std::convert::Infallible;
use std::io::{self, Write};
use std::time::Duration;

use http::Response;
use kiln::actor::{self, actor_fn};
use kiln_http::server::{Connection, Server, ServerConfig};
use kiln_rt::access::ThreadLocal;
use kiln_rt::io::IoDriver;

mod util;

use util::{TestServer, connect, is_closed, read_response_after};

/// Streams every request's body back.
async fn echo(_: actor::Context<Infallible, ThreadLocal>, conn: Connection) -> io::Result<()> {
    while let Some(request) = conn.next_request().await? {
        conn.respond(Response::new(request.into_body())).await?;
    }
    Ok(())
}

/// The drivers to test: both, or the one `KILN_IO_DRIVER` forces on every
/// runtime.
fn drivers() -> Vec<IoDriver> {
    match IoDriver::from_env() {
        Ok(None) => vec![IoDriver::Uring, IoDriver::Poll],
        Ok(Some(driver)) => {
            eprintln!(
                "{}={} overrides Setup::with_io_driver: only that driver is tested",
                IoDriver::ENV,
                driver.name()
            );
            vec![driver]
        }
        Err(err) => panic!("{err}"),
    }
}

/// Keep-alive, 16 pipelined requests in one write, a chunked upload
/// streamed back and a graceful shutdown, on every driver.
#[test]
fn the_server_serves_on_every_io_driver() {
    let mut served = Vec::new();
    for driver in drivers() {
        let setup = Server::with_actor(
            "127.0.0.1:0".parse().unwrap(),
            |err: io::Error| {
                eprintln!("connection failed: {err}");
                kiln::supervisor::SupervisorStrategy::Stop
            },
            actor_fn(echo),
            ServerConfig::default(),
        )
        .unwrap();
        let server = match TestServer::start_on(setup, 1, driver) {
            Ok(server) => server,
            // Forced io_uring fails to build where it is blocked (seccomp,
            // an old kernel); the error says so.
            Err(err) if driver == IoDriver::Uring && err.contains("io_uring") => {
                eprintln!("io_uring can't be used here, not tested: {err}");
                continue;
            }
            Err(err) => panic!("a runtime on {driver} did not start: {err}"),
        };
        if driver != IoDriver::Auto {
            assert_eq!(server.io_driver, driver, "the runtime runs another driver");
        }

        let mut stream = connect(server.address);
        let mut raw = Vec::new();
        for i in 0..16 {
            write!(
                raw,
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {i}\r\n\r\n{}",
                "y".repeat(i)
            )
            .unwrap();
        }
        for round in 0..3 {
            stream.write_all(&raw).unwrap();
            let mut rest = Vec::new();
            for i in 0..16 {
                let (response, after) = read_response_after(&mut stream, rest);
                let response = response.unwrap_or_else(|| panic!("{driver}: closed early"));
                assert_eq!(response.status, 200, "{driver}: {}", response.head);
                assert_eq!(
                    response.body,
                    "y".repeat(i).as_bytes(),
                    "{driver}: round {round}, response {i}"
                );
                rest = after;
            }
            assert!(rest.is_empty(), "{driver}: bytes after the last response");
        }

        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let response = util::post_chunked(&mut stream, "/echo", &data, 64 * 1024);
        assert_eq!(response.status, 200, "{driver}: {}", response.head);
        assert!(response.body == data, "{driver}: the echo differs");
        assert!(
            !is_closed(&mut stream, Duration::from_millis(100)),
            "{driver}: keep-alive connection closed"
        );

        // Idle keep-alive connections are closed at once by the shutdown.
        server.stop();
        assert!(
            is_closed(&mut stream, util::TIMEOUT),
            "{driver}: the idle connection outlived the shutdown"
        );
        served.push(driver);
    }
    assert!(!served.is_empty(), "no driver was tested");
}
