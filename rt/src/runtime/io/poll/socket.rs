//! Socket operations on the poll driver: what a10's socket operations do on
//! a ring, as non-blocking system calls retried by [`PollFd::io`] when the
//! socket is ready.
//!
//! The results match a10's: a receive adds the bytes received to the
//! buffer (none: the peer closed), `recv_n` fails with `UnexpectedEof` if
//! the peer closes first, the `send_all`s fail with `WriteZero` if the
//! kernel takes no bytes, and sends never raise `SIGPIPE` (io_uring adds
//! `MSG_NOSIGNAL` to every send, so do these). Addresses go through a10's
//! [`SocketAddress`], so a type that works with a10 works here.

use std::io;
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;
use std::task::{self, Poll};
use std::time::Duration;

use a10::io::{Buf, BufMut, BufMutSlice, BufSlice};
use a10::net::SocketAddress;

use crate::runtime::io::file_range::FileRange;
use crate::runtime::io::poll::PollHandle;
use crate::runtime::io::poll::fd::{Pending, PollFd, set_nonblocking};
use crate::runtime::io::poll::raw::{bytes, check, check_int, msghdr, skip, spare, total_len};
use crate::runtime::io::poll::readiness::Direction;
use crate::runtime::io::timerfd::timerfd;
use crate::runtime::io::vectored::{iovecs, iovecs_mut};

/// Flags of every send, see the module docs.
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
/// The first wait before connecting again to a Unix listener whose backlog
/// is full; doubled after each try.
const FIRST_CONNECT_WAIT: Duration = Duration::from_millis(1);
/// The longest wait before connecting again.
const MAX_CONNECT_WAIT: Duration = Duration::from_millis(64);
/// Bytes `sendfile` is asked for at once: the kernel's own limit per call.
const SENDFILE_CHUNK: u64 = 0x7fff_f000;

impl PollFd {
    /// Receives into the spare capacity of `buf` (`recv(2)` with `flags`).
    pub(crate) async fn recv<B: BufMut>(&self, mut buf: B, flags: libc::c_int) -> io::Result<B> {
        self.transfer(Direction::Read, |fd| recv(fd, &mut buf, flags))
            .await?;
        Ok(buf)
    }

    /// Receives until at least `n` bytes were added to `buf`.
    pub(crate) async fn recv_n<B: BufMut>(&self, mut buf: B, n: usize) -> io::Result<B> {
        self.read_n_with(n, |fd| recv(fd, &mut buf, 0)).await?;
        Ok(buf)
    }

    /// Receives into the spare capacity of several buffers, in order
    /// (`recvmsg(2)`).
    pub(crate) async fn recv_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        mut bufs: B,
        flags: libc::c_int,
    ) -> io::Result<B> {
        self.transfer(Direction::Read, |fd| {
            recv_msg(fd, &mut bufs, ptr::null_mut(), &mut 0, flags)
        })
        .await?;
        Ok(bufs)
    }

    /// Receives until at least `n` bytes were added to several buffers.
    pub(crate) async fn recv_n_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        mut bufs: B,
        n: usize,
    ) -> io::Result<B> {
        self.read_n_with(n, |fd| recv_msg(fd, &mut bufs, ptr::null_mut(), &mut 0, 0))
            .await?;
        Ok(bufs)
    }

    /// Receives one datagram into the spare capacity of `buf`; returns it
    /// and the sender's address.
    pub(crate) async fn recv_from<B: BufMut, A: SocketAddress>(
        &self,
        mut buf: B,
        flags: libc::c_int,
    ) -> io::Result<(B, A)> {
        let (n, address) = self
            .io(Direction::Read, |fd| {
                with_address_storage(|address, length| {
                    let (ptr, len) = spare(&mut buf);
                    // SAFETY: `ptr` is valid for writes of `len` bytes (the
                    // buffer's spare capacity), `address` for `length`.
                    check(unsafe {
                        libc::recvfrom(
                            fd.as_raw_fd(),
                            ptr.cast(),
                            len,
                            flags,
                            address.cast(),
                            length,
                        )
                    })
                })
            })
            .await?;
        // SAFETY: the kernel wrote `n` bytes to the spare capacity.
        unsafe { buf.set_init(n) };
        Ok((buf, address))
    }

    /// Receives one datagram into several buffers; returns them and the
    /// sender's address.
    pub(crate) async fn recv_from_vectored<B: BufMutSlice<N>, A: SocketAddress, const N: usize>(
        &self,
        mut bufs: B,
        flags: libc::c_int,
    ) -> io::Result<(B, A)> {
        let (_, address) = self
            .io(Direction::Read, |fd| {
                with_address_storage(|address, length| {
                    recv_msg(fd, &mut bufs, address, length, flags)
                })
            })
            .await?;
        Ok((bufs, address))
    }

    /// Sends some bytes of `buf`; returns it and how many.
    pub(crate) async fn send<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        let n = self
            .transfer(Direction::Write, |fd| send(fd, &buf, 0))
            .await?;
        Ok((buf, n))
    }

    /// Sends all of `buf`; fails with `WriteZero` if the kernel takes none.
    pub(crate) async fn send_all<B: Buf>(&self, buf: B) -> io::Result<B> {
        self.write_all_with(buf.len(), |fd, sent| send(fd, &buf, sent))
            .await?;
        Ok(buf)
    }

    /// Sends some bytes of several buffers (`sendmsg(2)`); returns them and
    /// how many bytes.
    pub(crate) async fn send_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, usize)> {
        let n = self
            .transfer(Direction::Write, |fd| {
                send_msg(fd, &bufs, 0, ptr::null(), 0)
            })
            .await?;
        Ok((bufs, n))
    }

    /// Sends all bytes of several buffers; fails with `WriteZero` if the
    /// kernel takes none.
    pub(crate) async fn send_all_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<B> {
        self.write_all_with(bufs.total_len(), |fd, sent| {
            send_msg(fd, &bufs, sent, ptr::null(), 0)
        })
        .await?;
        Ok(bufs)
    }

    /// Sends `buf` as one datagram to `address`.
    pub(crate) async fn send_to<B: Buf, A: SocketAddress>(
        &self,
        buf: B,
        address: A,
    ) -> io::Result<(B, usize)> {
        let n = self
            .send_to_address(address, |fd, address, length| {
                send_to(fd, &buf, address, length)
            })
            .await?;
        Ok((buf, n))
    }

    /// Sends several buffers as one datagram to `address`.
    pub(crate) async fn send_to_vectored<B: BufSlice<N>, A: SocketAddress, const N: usize>(
        &self,
        bufs: B,
        address: A,
    ) -> io::Result<(B, usize)> {
        let n = self
            .send_to_address(address, |fd, address, length| {
                send_msg(fd, &bufs, 0, address, length).map(|(sent, _)| sent)
            })
            .await?;
        Ok((bufs, n))
    }

    /// Runs `send` (a non-blocking system call that sends to the address it
    /// is given, `length` bytes of it) with `address`, when the socket is
    /// ready; returns how many bytes it sent.
    async fn send_to_address<A: SocketAddress>(
        &self,
        address: A,
        mut send: impl FnMut(BorrowedFd<'_>, *const libc::c_void, libc::socklen_t) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let storage = address.into_storage();
        self.io(Direction::Write, |fd| {
            // SAFETY: `as_ptr` only describes the storage, which lives
            // across the call below.
            let (address, length) = unsafe { A::as_ptr(&storage) };
            send(fd, address, length)
        })
        .await
    }

    /// Accepts a connection; returns it (non-blocking, registered with this
    /// descriptor's poll) and the peer's address.
    pub(crate) async fn accept<A: SocketAddress>(&self) -> io::Result<(PollFd, A)> {
        let (fd, address) = self
            .io(Direction::Read, |fd| {
                with_address_storage(|address, length| accept(fd, address, length))
            })
            .await?;
        Ok((self.accepted(fd)?, address))
    }

    /// One poll of a stream of accepted connections (`Incoming`), which
    /// keeps `pending`.
    pub(crate) fn poll_accept(
        &self,
        cx: &mut task::Context<'_>,
        pending: &mut Pending,
    ) -> Poll<io::Result<PollFd>> {
        self.poll_io(Direction::Read, cx, pending, |fd| {
            accept(fd, ptr::null_mut(), ptr::null_mut())
        })
        .map(|result| result.and_then(|fd| self.accepted(fd)))
    }

    /// Shuts down the reading, writing or both halves of the connection; a
    /// plain system call, which never waits.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        socket2::SockRef::from(self).shutdown(how)
    }

    /// Sends `range` (`sendfile(2)`): the kernel copies it from the page
    /// cache to the socket, with no pipe in between. Stops early at the end
    /// of the file; returns how many bytes were sent.
    ///
    /// The file is read in this thread: pages not in the page cache block it
    /// while the disk reads them, as with nginx's `sendfile`.
    pub(crate) async fn send_file(&self, range: FileRange<'_>) -> io::Result<u64> {
        let file = range.file;
        let send = move |offset: u64, chunk: u64| async move {
            let mut at = libc::off_t::try_from(offset).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("file offset {offset} is too large"),
                )
            })?;
            // At most `SENDFILE_CHUNK`, which fits.
            let chunk = usize::try_from(chunk).unwrap_or(usize::MAX);
            let n = self
                .io(Direction::Write, |fd| {
                    // SAFETY: both descriptors are open for the call, `at`
                    // is valid for reads and writes.
                    check(unsafe {
                        libc::sendfile(fd.as_raw_fd(), file.as_raw_fd(), &raw mut at, chunk)
                    })
                })
                .await?;
            Ok(n as u64)
        };
        range.send_in_chunks(SENDFILE_CHUNK, send).await
    }
}

/// Connects the socket `fd` to `address` and registers it with the poll
/// of `handle`: starts the connection, then waits until it is made or
/// fails (`SO_ERROR`).
///
/// The socket is registered only once the connection was started: epoll
/// reports `EPOLLHUP` for a stream socket that is not connected, a wake-up
/// for nothing (see [`readiness`](super::readiness)).
pub(crate) async fn connect<A: SocketAddress>(
    fd: OwnedFd,
    handle: &PollHandle,
    address: A,
) -> io::Result<PollFd> {
    set_nonblocking(fd.as_fd())?;
    let storage = address.into_storage();
    let mut wait = FIRST_CONNECT_WAIT;
    loop {
        // SAFETY: `as_ptr` only describes the storage, which lives across
        // the call below.
        let (address, length) = unsafe { A::as_ptr(&storage) };
        // SAFETY: `address` is valid for reads of `length` bytes.
        let res = unsafe { libc::connect(fd.as_raw_fd(), address.cast(), length) };
        if res == 0 {
            return PollFd::new_nonblocking(fd, handle);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            // A signal during a non-blocking connect leaves it going on.
            Some(libc::EINPROGRESS | libc::EINTR) => break,
            // A Unix listener whose backlog is full: nothing signals room
            // (the listener's readiness is not ours), so try again after a
            // while, as a blocking connect would wait.
            Some(libc::EAGAIN) => {
                let timer = PollFd::new(timerfd(wait)?, handle)?;
                timer.read(Vec::with_capacity(8)).await?;
                wait = (wait * 2).min(MAX_CONNECT_WAIT);
            }
            _ => return Err(err),
        }
    }
    let fd = PollFd::new_nonblocking(fd, handle)?;
    // A new descriptor starts out writable in the readiness (see
    // `Readiness::default`), so the first check below may come before any
    // event: still connecting is told by the missing peer.
    fd.io(Direction::Write, |fd| {
        let socket = socket2::SockRef::from(&fd);
        if let Some(err) = socket.take_error()? {
            return Err(err);
        }
        match socket.peer_addr() {
            Ok(_) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotConnected => {
                Err(io::ErrorKind::WouldBlock.into())
            }
            Err(err) => Err(err),
        }
    })
    .await?;
    Ok(fd)
}

/// `recv(2)` into the spare capacity of `buf`, the bytes received marked
/// initialised; returns them and the capacity asked for, none for a peek
/// (`MSG_PEEK` empties nothing: it is never short, see
/// [`PollFd::transfer`]).
fn recv<B: BufMut>(
    fd: BorrowedFd<'_>,
    buf: &mut B,
    flags: libc::c_int,
) -> io::Result<(usize, usize)> {
    let (ptr, len) = spare(buf);
    // SAFETY: `ptr` is valid for writes of `len` bytes, the buffer's spare
    // capacity.
    let n = check(unsafe { libc::recv(fd.as_raw_fd(), ptr.cast(), len, flags) })?;
    // SAFETY: the kernel wrote `n` bytes to the buffer's spare capacity.
    unsafe { buf.set_init(n) };
    Ok((n, asked(len, flags)))
}

/// What a receive of `len` bytes with `flags` asks to take: nothing for a
/// peek.
const fn asked(len: usize, flags: libc::c_int) -> usize {
    if flags & libc::MSG_PEEK == 0 { len } else { 0 }
}

/// `send(2)` of the bytes of `buf` after the first `skip`; returns how many
/// were sent, and how many it asked to send.
fn send<B: Buf>(fd: BorrowedFd<'_>, buf: &B, skip: usize) -> io::Result<(usize, usize)> {
    let (ptr, len) = bytes(buf, skip);
    // SAFETY: `ptr` is valid for reads of `len` bytes of the buffer.
    let n = check(unsafe { libc::send(fd.as_raw_fd(), ptr.cast(), len, SEND_FLAGS) })?;
    Ok((n, len))
}

/// `sendto(2)` of the bytes of `buf` to `address` (`length` bytes).
fn send_to<B: Buf>(
    fd: BorrowedFd<'_>,
    buf: &B,
    address: *const libc::c_void,
    length: libc::socklen_t,
) -> io::Result<usize> {
    let (ptr, len) = bytes(buf, 0);
    // SAFETY: `ptr` is valid for reads of `len` bytes (the buffer's bytes),
    // `address` of `length`.
    check(unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            ptr.cast(),
            len,
            SEND_FLAGS,
            address.cast(),
            length,
        )
    })
}

/// `recvmsg(2)` into the spare capacity of `bufs`, the bytes received
/// marked initialised, with the sender's address written to `address`
/// (`length` bytes at most; null for none); returns them and the capacity
/// asked for (as [`recv`]).
fn recv_msg<B: BufMutSlice<N>, const N: usize>(
    fd: BorrowedFd<'_>,
    bufs: &mut B,
    address: *mut libc::c_void,
    length: &mut libc::socklen_t,
    flags: libc::c_int,
) -> io::Result<(usize, usize)> {
    let mut iovecs = iovecs_mut(bufs);
    let len = total_len(&iovecs);
    let mut msg = msghdr();
    msg.msg_iov = iovecs.as_mut_ptr();
    msg.msg_iovlen = N as _;
    msg.msg_name = address;
    msg.msg_namelen = if address.is_null() { 0 } else { *length };
    // SAFETY: `msg` points to `N` iovecs describing the buffers' spare
    // capacity and to `msg_namelen` bytes of address storage, all valid for
    // the call.
    let n = check(unsafe { libc::recvmsg(fd.as_raw_fd(), &raw mut msg, flags) })?;
    *length = msg.msg_namelen;
    // SAFETY: the kernel wrote `n` bytes to the buffers' spare capacity, in
    // order.
    unsafe { bufs.set_init(n) };
    Ok((n, asked(len, flags)))
}

/// `sendmsg(2)` of the bytes of `bufs` after the first `skip`, to
/// `address` (`length` bytes; null for the connected peer); returns how many
/// were sent, and how many it asked to send.
fn send_msg<B: BufSlice<N>, const N: usize>(
    fd: BorrowedFd<'_>,
    bufs: &B,
    skip_bytes: usize,
    address: *const libc::c_void,
    length: libc::socklen_t,
) -> io::Result<(usize, usize)> {
    let mut iovecs = iovecs(bufs);
    let left = skip(&mut iovecs, skip_bytes);
    let len = total_len(left);
    let mut msg = msghdr();
    msg.msg_iov = left.as_mut_ptr();
    msg.msg_iovlen = left.len() as _;
    msg.msg_name = address.cast_mut();
    msg.msg_namelen = length;
    // SAFETY: `msg` points to iovecs describing the buffers' bytes (from
    // `skip_bytes` on) and to `length` bytes of address, all valid for the
    // call; `sendmsg` does not write through them.
    let n = check(unsafe { libc::sendmsg(fd.as_raw_fd(), &raw const msg, SEND_FLAGS) })?;
    Ok((n, len))
}

/// `accept4(2)` of a non-blocking, close-on-exec connection, the peer's
/// address written to `address` (`length` bytes at most; null for none).
fn accept(
    fd: BorrowedFd<'_>,
    address: *mut libc::c_void,
    length: *mut libc::socklen_t,
) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: `address` and `length` are both null or valid for writes of
    // `*length` bytes and one `socklen_t`.
    let raw = check_int(unsafe { libc::accept4(fd.as_raw_fd(), address.cast(), length, flags) })?;
    // SAFETY: `accept4` returned a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Calls `op` with storage for an address of type `A` (a pointer to it and
/// its length, which `op` updates); returns what `op` returned and the
/// address.
fn with_address_storage<A: SocketAddress, T>(
    op: impl FnOnce(*mut libc::c_void, &mut libc::socklen_t) -> io::Result<T>,
) -> io::Result<(T, A)> {
    let mut storage = MaybeUninit::<A::Storage>::uninit();
    // SAFETY: only the kernel writes to the storage, initialised bytes.
    let (address, size) = unsafe { A::as_mut_ptr(&mut storage) };
    let mut length = size as libc::socklen_t;
    let value = op(address, &mut length)?;
    // The kernel reports the address's full length, which is more than it
    // wrote if the storage was too small.
    let length = length.min(size as libc::socklen_t);
    // SAFETY: the kernel wrote `length` bytes of address.
    let address = unsafe { A::init(storage, length) };
    Ok((value, address))
}
