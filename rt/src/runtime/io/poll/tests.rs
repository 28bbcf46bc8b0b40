//! The poll driver's operations against real sockets and pipes, driven by a
//! poller of their own: waiting on `EWOULDBLOCK`, a closed peer, a refused
//! connection, `send_all` over short writes, vectored I/O, datagrams with
//! addresses, accepting, that a short read of a stream waits for the next
//! event (and of datagrams or a peek does not), and that a dropped operation
//! loses nothing.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{self, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use a10::io::LimitedBuf;
use socket2::{Domain, Socket, Type};

use super::Poller;
use super::fd::{BUDGET, PollFd};
use super::socket;
use crate::runtime::io::io_counts;

/// How long any test may wait for the kernel.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Polls `future` to its end, waiting in `poller` while it is pending.
fn run<F: Future>(poller: &mut Poller, future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = task::Context::from_waker(Waker::noop());
    let start = Instant::now();
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        assert!(start.elapsed() < TIMEOUT, "the operation never ended");
        poller.poll(Some(Duration::from_millis(50))).unwrap();
    }
}

/// Polls `future` once: whether it is still pending.
fn pending<F: Future>(future: std::pin::Pin<&mut F>) -> bool {
    let mut cx = task::Context::from_waker(Waker::noop());
    future.poll(&mut cx).is_pending()
}

/// A connected pair of Unix stream sockets: one on `poller`, one plain.
fn pair(poller: &Poller) -> (PollFd, std::os::unix::net::UnixStream) {
    let (one, two) = Socket::pair(Domain::UNIX, Type::STREAM, None).unwrap();
    let polled = PollFd::new(OwnedFd::from(one), &poller.handle()).unwrap();
    (
        polled,
        std::os::unix::net::UnixStream::from(OwnedFd::from(two)),
    )
}

#[test]
fn a_receive_waits_for_data_then_gets_it() {
    let mut poller = Poller::new(false).unwrap();
    let (polled, mut peer) = pair(&poller);
    let mut recv = pin!(polled.recv(Vec::with_capacity(64), 0));
    // Nothing to read: EWOULDBLOCK, and it waits.
    assert!(pending(recv.as_mut()));
    peer.write_all(b"hello").unwrap();
    let buf = run(&mut poller, recv).unwrap();
    assert_eq!(buf, b"hello");

    // A peek leaves the bytes for the next receive.
    peer.write_all(b"again").unwrap();
    let buf = run(
        &mut poller,
        polled.recv(Vec::with_capacity(64), libc::MSG_PEEK),
    )
    .unwrap();
    assert_eq!(buf, b"again");
    let buf = run(&mut poller, polled.recv_n(Vec::with_capacity(64), 5)).unwrap();
    assert_eq!(buf, b"again");
}

#[test]
fn a_closed_peer_ends_the_stream() {
    let mut poller = Poller::new(false).unwrap();
    let (polled, mut peer) = pair(&poller);
    peer.write_all(b"abc").unwrap();
    drop(peer);
    let buf = run(&mut poller, polled.recv(Vec::with_capacity(64), 0)).unwrap();
    assert_eq!(buf, b"abc");
    let buf = run(&mut poller, polled.recv(Vec::with_capacity(64), 0)).unwrap();
    assert!(buf.is_empty(), "no bytes after the end: {buf:?}");
    let err = run(&mut poller, polled.recv_n(Vec::with_capacity(64), 1)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    let err = run(&mut poller, polled.send_all(b"x".to_vec())).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    let mut poller = Poller::new(false).unwrap();
    let address = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }; // Closed: nothing listens there now.
    let fd = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let handle = poller.handle();
    let connect = socket::connect(fd.into(), &handle, address);
    let err = run(&mut poller, connect).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn connecting_and_accepting() {
    let mut poller = Poller::new(false).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let listener = PollFd::new(listener.into(), &poller.handle()).unwrap();
    let fd = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let handle = poller.handle();
    let stream = run(&mut poller, socket::connect(fd.into(), &handle, address)).unwrap();
    let (accepted, peer) = run(&mut poller, listener.accept::<SocketAddr>()).unwrap();
    let client = socket2::SockRef::from(&stream).local_addr().unwrap();
    assert_eq!(Some(peer), client.as_socket());
    run(&mut poller, stream.send_all(b"ping".to_vec())).unwrap();
    let buf = run(&mut poller, accepted.recv_n(Vec::with_capacity(8), 4)).unwrap();
    assert_eq!(buf, b"ping");
}

#[test]
fn send_all_goes_on_after_short_writes() {
    const LEN: usize = 1 << 20;
    let mut poller = Poller::new(false).unwrap();
    let (polled, mut peer) = pair(&poller);
    socket2::SockRef::from(&polled)
        .set_send_buffer_size(4096)
        .unwrap();
    let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let reader = thread::spawn(move || {
        let mut got = Vec::with_capacity(LEN);
        let mut chunk = [0; 1000];
        while got.len() < LEN {
            let n = peer.read(&mut chunk).unwrap();
            assert_ne!(n, 0, "the stream ended early");
            got.extend_from_slice(&chunk[..n]);
            thread::sleep(Duration::from_micros(50));
        }
        got
    });
    let (submitted, ..) = io_counts();
    let sent = run(&mut poller, polled.send_all(data)).unwrap();
    assert_eq!(sent.len(), LEN);
    // It waited for room: the socket's buffer is far smaller than the data.
    assert!(io_counts().0 > submitted, "send_all never waited");
    assert!(
        reader.join().unwrap() == expected,
        "bytes lost or out of order"
    );
}

#[test]
fn vectored_operations_fill_and_send_the_buffers_in_order() {
    let mut poller = Poller::new(false).unwrap();
    let (polled, mut peer) = pair(&poller);
    let bufs = (b"hello ".to_vec(), b"vectored ".to_vec(), "world");
    let bufs = run(&mut poller, polled.send_all_vectored(bufs)).unwrap();
    assert_eq!(bufs.2, "world", "the buffers come back");
    let mut got = [0; 20];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello vectored world");

    peer.write_all(b"0123456789").unwrap();
    let bufs = [Vec::with_capacity(4), Vec::with_capacity(16)];
    let [first, second] = run(&mut poller, polled.recv_n_vectored(bufs, 10)).unwrap();
    assert_eq!(
        (first.as_slice(), second.as_slice()),
        (&b"0123"[..], &b"456789"[..])
    );

    // A limited buffer receives no more than its limit.
    peer.write_all(b"abcdef").unwrap();
    let bufs = LimitedBuf::new([Vec::with_capacity(2), Vec::with_capacity(8)], 3);
    let [first, second] = run(&mut poller, polled.recv_vectored(bufs, 0))
        .unwrap()
        .into_inner();
    assert_eq!(
        (first.as_slice(), second.as_slice()),
        (&b"ab"[..], &b"c"[..])
    );
}

#[test]
fn datagrams_carry_their_senders_address() {
    let mut poller = Poller::new(false).unwrap();
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let receiver_address = receiver.local_addr().unwrap();
    let receiver = PollFd::new(receiver.into(), &poller.handle()).unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sender_address = sender.local_addr().unwrap();
    let sender = PollFd::new(sender.into(), &poller.handle()).unwrap();

    let recv = pin!(receiver.recv_from::<_, SocketAddr>(Vec::with_capacity(64), 0));
    let (_, n) = run(
        &mut poller,
        sender.send_to(b"datagram".to_vec(), receiver_address),
    )
    .unwrap();
    assert_eq!(n, 8);
    let (buf, from) = run(&mut poller, recv).unwrap();
    assert_eq!((buf.as_slice(), from), (&b"datagram"[..], sender_address));

    let bufs = [b"two ".to_vec(), b"parts".to_vec()];
    run(&mut poller, sender.send_to_vectored(bufs, receiver_address)).unwrap();
    let bufs = [Vec::with_capacity(3), Vec::with_capacity(16)];
    let ([first, second], from) = run(
        &mut poller,
        receiver.recv_from_vectored::<_, SocketAddr, 2>(bufs, 0),
    )
    .unwrap();
    assert_eq!(
        (first.as_slice(), second.as_slice(), from),
        (&b"two"[..], &b" parts"[..], sender_address)
    );
}

#[test]
fn a_short_read_of_a_stream_waits_for_the_next_event() {
    let mut poller = Poller::new(false).unwrap();
    let (polled, mut peer) = pair(&poller);
    peer.write_all(b"abc").unwrap();
    let buf = run(&mut poller, polled.recv(Vec::with_capacity(64), 0)).unwrap();
    assert_eq!(buf, b"abc");
    // Fewer bytes than asked for: the receive buffer was empty, so the next
    // receive waits for the event of new bytes, without a system call
    // (which would have found these bytes at once: the poller has not seen
    // their event yet).
    peer.write_all(b"def").unwrap();
    let mut recv = pin!(polled.recv(Vec::with_capacity(64), 0));
    assert!(
        pending(recv.as_mut()),
        "a short read left the socket readable"
    );
    assert_eq!(run(&mut poller, recv).unwrap(), b"def");

    // A full read says nothing: the next receive tries at once.
    peer.write_all(b"0123456789").unwrap();
    poller.poll(Some(Duration::from_millis(50))).unwrap();
    let buf = run(&mut poller, polled.recv(Vec::with_capacity(4), 0)).unwrap();
    assert_eq!(buf, b"0123");
    let mut recv = pin!(polled.recv_n(Vec::with_capacity(6), 6));
    let Poll::Ready(Ok(buf)) = recv
        .as_mut()
        .poll(&mut task::Context::from_waker(Waker::noop()))
    else {
        panic!("a full read made the next receive wait");
    };
    assert_eq!(buf, b"456789");

    // The end of the stream that came with the last bytes is not lost with
    // the readable bit: the receive after a short read sees it.
    peer.write_all(b"last").unwrap();
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    poller.poll(Some(Duration::from_millis(50))).unwrap();
    let buf = run(&mut poller, polled.recv(Vec::with_capacity(64), 0)).unwrap();
    assert_eq!(buf, b"last");
    let buf = run(&mut poller, polled.recv(Vec::with_capacity(64), 0)).unwrap();
    assert!(buf.is_empty(), "no end of the stream after a short read");
}

#[test]
fn short_reads_of_datagrams_and_peeks_keep_the_socket_readable() {
    let mut poller = Poller::new(false).unwrap();
    // Datagrams: a read takes one of several.
    let (one, two) = Socket::pair(Domain::UNIX, Type::DGRAM, None).unwrap();
    let polled = PollFd::new(OwnedFd::from(one), &poller.handle()).unwrap();
    for datagram in [&b"first"[..], b"second"] {
        two.send(datagram).unwrap();
    }
    poller.poll(Some(Duration::from_millis(50))).unwrap();
    let buf = run(&mut poller, polled.recv(Vec::with_capacity(64), 0)).unwrap();
    assert_eq!(buf, b"first");
    let mut recv = pin!(polled.recv(Vec::with_capacity(64), 0));
    assert!(!pending(recv.as_mut()), "the second datagram waits");

    // A peek leaves the bytes where they are.
    let (polled, mut peer) = pair(&poller);
    peer.write_all(b"peeked").unwrap();
    poller.poll(Some(Duration::from_millis(50))).unwrap();
    let peek = polled.recv(Vec::with_capacity(64), libc::MSG_PEEK);
    assert_eq!(run(&mut poller, peek).unwrap(), b"peeked");
    let mut recv = pin!(polled.recv(Vec::with_capacity(64), 0));
    assert!(!pending(recv.as_mut()), "the bytes peeked at wait");
}

#[test]
fn a_dropped_receive_loses_nothing() {
    let mut poller = Poller::new(false).unwrap();
    let (polled, mut peer) = pair(&poller);
    {
        let mut recv = pin!(polled.recv(Vec::with_capacity(64), 0));
        assert!(pending(recv.as_mut()));
    } // Dropped while it waits.
    peer.write_all(b"kept").unwrap();
    poller.poll(Some(Duration::from_millis(50))).unwrap();
    let buf = run(&mut poller, polled.recv(Vec::with_capacity(64), 0)).unwrap();
    assert_eq!(buf, b"kept");
}

#[test]
fn a_pipe_is_read_and_written_across_a_full_buffer() {
    const LEN: usize = 256 * 1024; // Four times a pipe's default capacity.
    let mut poller = Poller::new(false).unwrap();
    let data: Vec<u8> = (0..LEN).map(|i| (i % 253) as u8).collect();

    // Writing: waits each time the pipe is full until a slow reader made room.
    let [read_end, write_end] = a10::pipe::sync_pipe().unwrap();
    let writer = PollFd::new(write_end, &poller.handle()).unwrap();
    let reader = thread::spawn(move || {
        let mut read_end = std::fs::File::from(read_end);
        let mut got = Vec::new();
        let mut chunk = [0; 4096];
        loop {
            match read_end.read(&mut chunk).unwrap() {
                0 => return got,
                n => got.extend_from_slice(&chunk[..n]),
            }
            thread::sleep(Duration::from_micros(50));
        }
    });
    let (submitted, ..) = io_counts();
    run(&mut poller, writer.write_all(data.clone())).unwrap();
    assert!(io_counts().0 > submitted, "write_all never waited");
    drop(writer);
    assert!(reader.join().unwrap() == data, "bytes lost or out of order");

    // Reading: waits for a slow writer until it has all it asked for, then
    // sees the end of the stream.
    let [read_end, write_end] = a10::pipe::sync_pipe().unwrap();
    let reader = PollFd::new(read_end, &poller.handle()).unwrap();
    let sent = data.clone();
    let writer = thread::spawn(move || {
        let mut write_end = std::fs::File::from(write_end);
        for chunk in sent.chunks(10_000) {
            write_end.write_all(chunk).unwrap();
            thread::sleep(Duration::from_micros(200));
        }
    });
    let got = run(&mut poller, reader.read_n(Vec::with_capacity(LEN), LEN)).unwrap();
    assert!(got == data, "bytes lost or out of order");
    writer.join().unwrap();
    let end = run(&mut poller, reader.read(Vec::with_capacity(8))).unwrap();
    assert!(
        end.is_empty(),
        "no end of the stream once the writer is gone"
    );
}

#[test]
fn a_run_of_operations_that_do_not_wait_yields_once_the_budget_is_spent() {
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let poller = Poller::new(false).unwrap();
    let (polled, mut peer) = pair(&poller);
    let ops = 3 * BUDGET as usize;
    peer.write_all(&vec![7; ops]).unwrap();
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let mut cx = task::Context::from_waker(&waker);
    // One byte per receive: every one finds its data there.
    let (mut received, mut yields) = (0, Vec::new());
    for attempt in 0..ops + 10 {
        let mut recv = pin!(polled.recv(Vec::with_capacity(1), 0));
        match recv.as_mut().poll(&mut cx) {
            Poll::Ready(buf) => received += buf.unwrap().len(),
            Poll::Pending => yields.push(attempt),
        }
        if received == ops {
            break;
        }
    }
    assert_eq!(received, ops, "bytes lost by the yields");
    // Every BUDGET + 1st operation yields (the first may come sooner: the
    // thread's budget was partly spent by earlier tests).
    assert!(yields.len() >= 2, "never yielded: {yields:?}");
    let gaps: Vec<_> = yields.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(
        gaps.iter().all(|&gap| gap == BUDGET as usize + 1),
        "{yields:?}"
    );
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        yields.len(),
        "a yield wakes its task"
    );
}
