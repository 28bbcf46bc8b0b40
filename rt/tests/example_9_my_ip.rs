//! Runs example 9 (`rt_9_my_ip`) on a free port, asks it from 100 clients
//! at once, and stops it with SIGINT.

use std::io::Read;
use std::net::TcpStream;

mod util;

use util::server::ServerExample;
use util::timeout::TIMEOUT;

#[test]
fn example_9_my_ip() {
    let example = ServerExample::start("rt_9_my_ip", &["127.0.0.1:0"], &[]);
    let address = example.address;
    assert_eq!(address.ip().to_string(), "127.0.0.1");
    assert_ne!(address.port(), 0);

    // All connected before any answer is read: the server has 100
    // connections in flight.
    let clients: Vec<TcpStream> = (0..100)
        .map(|i| {
            let stream = TcpStream::connect_timeout(&address, TIMEOUT)
                .unwrap_or_else(|err| panic!("client {i} can't connect: {err}"));
            stream.set_read_timeout(Some(TIMEOUT)).unwrap();
            stream
        })
        .collect();
    for (i, mut client) in clients.into_iter().enumerate() {
        // Reads to EOF: the server closes the connection after the line.
        let mut answer = Vec::new();
        client
            .read_to_end(&mut answer)
            .unwrap_or_else(|err| panic!("client {i} can't read its answer: {err}"));
        assert_eq!(
            answer,
            b"127.0.0.1\n",
            "client {i} got {:?}",
            String::from_utf8_lossy(&answer)
        );
    }

    example.stop(libc::SIGINT, TIMEOUT);
}
