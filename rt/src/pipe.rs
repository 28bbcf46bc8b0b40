//! Unix pipes: a one-way stream of bytes, from a [`Sender`] to a
//! [`Receiver`], between actors or between an actor and a child process.
//!
//! [`new`] makes both ends. The ends of a child process's standard streams
//! (spawned by [`std::process::Command`] with [`Stdio::piped`]) become a
//! [`Sender`] ([`Sender::from_child_stdin`]) or a [`Receiver`]
//! ([`Receiver::from_child_stdout`], [`Receiver::from_child_stderr`]), so an
//! actor can talk to a child process without blocking its worker; see
//! [`process::wait`](crate::process::wait) to wait for the child.
//!
//! Like every I/O type, each end is bound to the ring of the runtime access
//! it was created with (see [`io`](crate::io)). The [`Receiver`] reads no
//! bytes (the end of the stream) once every sender is dropped, and writing
//! fails with [`BrokenPipe`](io::ErrorKind::BrokenPipe) once the receiver
//! is. A pipe holds 64 KiB by default: a sender waits while it is full.
//! Both ends have vectored forms (`write_vectored`, `write_all_vectored`,
//! `read_vectored`, `read_n_vectored`) that take an array or tuple of
//! buffers, e.g. a header and a body, written or filled in order in one
//! system call.
//!
//! [`Stdio::piped`]: std::process::Stdio::piped
//!
//! ```no_run
//! # use std::io;
//! # use kiln::actor;
//! # use kiln_rt::ThreadLocal;
//! use std::process::{Command, Stdio};
//! use kiln_rt::{pipe, process};
//!
//! /// Counts the bytes of `text` with `wc -c`.
//! async fn count(ctx: actor::Context<(), ThreadLocal>, text: String) -> io::Result<()> {
//!     let rt = ctx.runtime_ref();
//!     let mut child = Command::new("wc")
//!         .arg("-c")
//!         .stdin(Stdio::piped())
//!         .stdout(Stdio::piped())
//!         .spawn()?;
//!     let stdin = pipe::Sender::from_child_stdin(rt, child.stdin.take().unwrap());
//!     let stdout = pipe::Receiver::from_child_stdout(rt, child.stdout.take().unwrap());
//!     stdin.write_all(text).await?;
//!     drop(stdin); // The end of wc's input.
//!     let output = stdout.read(Vec::with_capacity(64)).await?;
//!     println!("wc counted {}", String::from_utf8_lossy(&output).trim());
//!     let status = process::wait(rt, &child).await?;
//!     println!("wc exited: {status}");
//!     Ok(())
//! }
//! ```

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout};

use a10::{AsyncFd, Extract};

use crate::access::Access;
use crate::io::{Buf, BufMut, BufMutSlice, BufSlice};
use crate::runtime::io::vectored::EmptyFirst;
use crate::runtime::io::{FdRing, IoRing};

/// Creates a pipe, both ends on the ring of `rt`.
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use kiln_rt::pipe;
///
/// async fn round_trip(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
///     let (sender, receiver) = pipe::new(ctx.runtime_ref())?;
///     sender.write_all("hello").await?;
///     let buf = receiver.read_n(Vec::with_capacity(5), 5).await?;
///     assert_eq!(buf, b"hello");
///     Ok(())
/// }
/// ```
pub fn new<RT: Access + ?Sized>(rt: &RT) -> io::Result<(Sender, Receiver)> {
    let [read_end, write_end] = a10::pipe::sync_pipe()
        .map_err(|err| io::Error::new(err.kind(), format!("can't create a pipe: {err}")))?;
    let ring = rt.io_ring();
    let sender = Sender::from_fd(write_end, ring.clone());
    let receiver = Receiver::from_fd(read_end, ring);
    Ok((sender, receiver))
}

/// The writing end of a pipe, see the [module docs](crate::pipe).
pub struct Sender {
    fd: AsyncFd,
    // After `fd`, so dropped after it: counts the close `fd`'s drop queues.
    ring: FdRing,
}

impl Sender {
    fn from_fd(fd: OwnedFd, ring: IoRing) -> Sender {
        Sender {
            fd: AsyncFd::new(fd, ring.sq()),
            ring: FdRing::new(ring),
        }
    }

    /// The standard input of a child process (spawned with
    /// `stdin(Stdio::piped())`), to write on the ring of `rt`. Dropping the
    /// sender closes it: the end of the child's input.
    pub fn from_child_stdin<RT: Access + ?Sized>(rt: &RT, stdin: ChildStdin) -> Sender {
        Sender::from_fd(stdin.into(), rt.io_ring())
    }

    /// Writes some bytes of `buf`; returns it and how many.
    pub async fn write<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        self.ring.op(self.fd.write(buf).extract()).await
    }

    /// Writes all of `buf`, waiting while the pipe is full; returns it.
    /// Writing an empty buffer succeeds at once, as with std.
    pub async fn write_all<B: Buf>(&self, buf: B) -> io::Result<B> {
        if buf.is_empty() {
            // a10 would fail with `WriteZero`.
            return Ok(buf);
        }
        self.ring.op(self.fd.write_all(buf).extract()).await
    }

    /// Writes some bytes of several buffers, in order (`writev(2)`);
    /// returns them and how many bytes were written.
    pub async fn write_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, usize)> {
        self.ring.op(self.fd.write_vectored(bufs).extract()).await
    }

    /// Writes all bytes of several buffers, in order, waiting while the
    /// pipe is full; returns them. Empty buffers are written at once, as
    /// with [`write_all`](Sender::write_all).
    ///
    /// ```no_run
    /// # use std::io;
    /// # use kiln::actor;
    /// # use kiln_rt::ThreadLocal;
    /// use kiln_rt::pipe;
    ///
    /// /// Sends a length-prefixed message without copying it behind its header.
    /// async fn framed(ctx: actor::Context<(), ThreadLocal>, body: Vec<u8>) -> io::Result<()> {
    ///     let (sender, receiver) = pipe::new(ctx.runtime_ref())?;
    ///     let header = (body.len() as u32).to_be_bytes().to_vec();
    ///     let [header, body] = sender.write_all_vectored([header, body]).await?;
    ///     let [got_header, got_body] = receiver
    ///         .read_n_vectored([Vec::with_capacity(4), Vec::with_capacity(body.len())], 4 + body.len())
    ///         .await?;
    ///     assert_eq!((got_header, got_body), (header, body));
    ///     Ok(())
    /// }
    /// ```
    pub async fn write_all_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<B> {
        if bufs.total_len() == 0 {
            // a10 would fail with `WriteZero`.
            return Ok(bufs);
        }
        let write = self.fd.write_all_vectored(EmptyFirst(bufs)).extract();
        self.ring.op(write).await.map(|bufs| bufs.0)
    }
}

impl AsFd for Sender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // A pipe end is a regular descriptor (never a direct one), for which
        // a10 always has one.
        self.fd
            .as_fd()
            .expect("a pipe is a regular file descriptor")
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("fd", &self.fd).finish()
    }
}

/// The reading end of a pipe, see the [module docs](crate::pipe).
pub struct Receiver {
    fd: AsyncFd,
    // After `fd`, so dropped after it: counts the close `fd`'s drop queues.
    ring: FdRing,
}

impl Receiver {
    fn from_fd(fd: OwnedFd, ring: IoRing) -> Receiver {
        Receiver {
            fd: AsyncFd::new(fd, ring.sq()),
            ring: FdRing::new(ring),
        }
    }

    /// The standard output of a child process (spawned with
    /// `stdout(Stdio::piped())`), to read on the ring of `rt`.
    pub fn from_child_stdout<RT: Access + ?Sized>(rt: &RT, stdout: ChildStdout) -> Receiver {
        Receiver::from_fd(stdout.into(), rt.io_ring())
    }

    /// The standard error of a child process (spawned with
    /// `stderr(Stdio::piped())`), to read on the ring of `rt`.
    pub fn from_child_stderr<RT: Access + ?Sized>(rt: &RT, stderr: ChildStderr) -> Receiver {
        Receiver::from_fd(stderr.into(), rt.io_ring())
    }

    /// Reads into the spare capacity of `buf`, waiting until there is
    /// something to read; returns it with the bytes read added. No bytes
    /// added to a buffer with spare capacity means the end of the stream:
    /// every sender is gone.
    pub async fn read<B: BufMut>(&self, buf: B) -> io::Result<B> {
        self.ring.op(self.fd.read(buf)).await
    }

    /// Reads at least `n` bytes (`buf` needs the spare capacity for them);
    /// fails with [`io::ErrorKind::UnexpectedEof`] if the stream ends
    /// first.
    pub async fn read_n<B: BufMut>(&self, buf: B, n: usize) -> io::Result<B> {
        self.ring.op(self.fd.read_n(buf, n)).await
    }

    /// Reads into the spare capacity of several buffers, filling them in
    /// order (`readv(2)`), waiting until there is something to read;
    /// returns them with the bytes read added. No bytes added (with spare
    /// capacity in the buffers) means the end of the stream.
    pub async fn read_vectored<B: BufMutSlice<N>, const N: usize>(&self, bufs: B) -> io::Result<B> {
        self.ring.op(self.fd.read_vectored(bufs)).await
    }

    /// Reads at least `n` bytes into several buffers, filling them in order
    /// (they need the spare capacity for `n` bytes in all); fails with
    /// [`io::ErrorKind::UnexpectedEof`] if the stream ends first.
    pub async fn read_n_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        bufs: B,
        n: usize,
    ) -> io::Result<B> {
        self.ring.op(self.fd.read_n_vectored(bufs, n)).await
    }
}

impl AsFd for Receiver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // See `Sender`.
        self.fd
            .as_fd()
            .expect("a pipe is a regular file descriptor")
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("fd", &self.fd).finish()
    }
}
