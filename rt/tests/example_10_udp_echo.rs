//! Runs example 10 (a UDP echo server) on a free port, checks the echoes of datagrams from a std
//! socket (empty, small and large ones, every byte), then stops it with SIGINT and checks that it
//! says so and exits successfully.

use std::net::UdpSocket;

mod util;

use util::server::ServerExample;
use util::timeout::TIMEOUT;

/// A datagram of `len` bytes, each depending on `seed` and its position.
fn datagram(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + seed * 13) % 251) as u8)
        .collect()
}

#[test]
fn example_10_udp_echo() {
    let example = ServerExample::start("rt_10_udp_echo", &["127.0.0.1:0"], &[]);
    let address = example.address;
    assert_eq!(address.ip().to_string(), "127.0.0.1");
    assert_ne!(address.port(), 0, "the example printed port 0");

    let socket = UdpSocket::bind("127.0.0.1:0").expect("can't bind a client socket");
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    socket
        .connect(address)
        .expect("can't connect the client socket");
    // Empty, small and large (up to the largest loopback datagram our buffer takes) datagrams,
    // one at a time: loopback loses none while the server keeps up.
    let sizes = [0, 1, 5, 100, 1472, 9000, 60_000, 17, 0, 4096];
    let mut echo = vec![0; 65_536];
    for (seed, &len) in sizes.iter().enumerate() {
        let sent = datagram(seed, len);
        assert_eq!(socket.send(&sent).expect("can't send"), len);
        let n = socket
            .recv(&mut echo)
            .unwrap_or_else(|err| panic!("no echo of datagram {seed} ({len} bytes): {err}"));
        assert!(
            echo[..n] == sent[..],
            "echo of datagram {seed} differs: {n} bytes, sent {len}"
        );
    }

    example.stop(libc::SIGINT, TIMEOUT);
}
