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
//! Like every I/O type, each end is bound to the ring (or, on the poll
//! driver, the poll instance) of the runtime access it was created with
//! (see [`io`](crate::io)); on the poll driver the end is made
//! non-blocking (a child process keeps its own end, and its own blocking
//! file description, as it was). The [`Receiver`] reads no
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
use std::os::fd::{AsFd, BorrowedFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout};

use crate::access::Access;
use crate::io::{Buf, BufMut, BufMutSlice, BufSlice};
use crate::runtime::io::fd::{IoFd, MaybeFd};

/// Creates a pipe, both ends on the ring (or poll) of `rt`.
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
    let io = rt.io();
    let sender = Sender {
        fd: MaybeFd::Usable(IoFd::new(write_end, &io)?),
    };
    let receiver = Receiver {
        fd: MaybeFd::Usable(IoFd::new(read_end, &io)?),
    };
    Ok((sender, receiver))
}

/// The writing end of a pipe, see the [module docs](crate::pipe).
pub struct Sender {
    fd: MaybeFd,
}

impl Sender {
    /// The standard input of a child process (spawned with
    /// `stdin(Stdio::piped())`), to write on the ring (or poll) of `rt`.
    /// Dropping the sender closes it: the end of the child's input.
    ///
    /// On the poll driver, if the pipe can't be registered with the poll
    /// (the system is out of memory, say), every write fails with why.
    pub fn from_child_stdin<RT: Access + ?Sized>(rt: &RT, stdin: ChildStdin) -> Sender {
        Sender {
            fd: IoFd::new_or_unusable(stdin.into(), &rt.io(), "the child's standard input"),
        }
    }

    /// Writes some bytes of `buf`; returns it and how many.
    pub async fn write<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        self.fd.usable()?.write(buf).await
    }

    /// Writes all of `buf`, waiting while the pipe is full; returns it.
    /// Writing an empty buffer succeeds at once, as with std.
    pub async fn write_all<B: Buf>(&self, buf: B) -> io::Result<B> {
        self.fd.usable()?.write_all(buf).await
    }

    /// Writes some bytes of several buffers, in order (`writev(2)`);
    /// returns them and how many bytes were written.
    pub async fn write_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, usize)> {
        self.fd.usable()?.write_vectored(bufs).await
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
        self.fd.usable()?.write_all_vectored(bufs).await
    }
}

impl AsFd for Sender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("fd", &self.fd).finish()
    }
}

/// The reading end of a pipe, see the [module docs](crate::pipe).
pub struct Receiver {
    fd: MaybeFd,
}

impl Receiver {
    /// The standard output of a child process (spawned with
    /// `stdout(Stdio::piped())`), to read on the ring (or poll) of `rt`.
    ///
    /// On the poll driver, if the pipe can't be registered with the poll
    /// (the system is out of memory, say), every read fails with why.
    pub fn from_child_stdout<RT: Access + ?Sized>(rt: &RT, stdout: ChildStdout) -> Receiver {
        Receiver {
            fd: IoFd::new_or_unusable(stdout.into(), &rt.io(), "the child's standard output"),
        }
    }

    /// The standard error of a child process (spawned with
    /// `stderr(Stdio::piped())`), to read on the ring (or poll) of `rt`;
    /// see [`from_child_stdout`](Receiver::from_child_stdout).
    pub fn from_child_stderr<RT: Access + ?Sized>(rt: &RT, stderr: ChildStderr) -> Receiver {
        Receiver {
            fd: IoFd::new_or_unusable(stderr.into(), &rt.io(), "the child's standard error"),
        }
    }

    /// Reads into the spare capacity of `buf`, waiting until there is
    /// something to read; returns it with the bytes read added. No bytes
    /// added to a buffer with spare capacity means the end of the stream:
    /// every sender is gone.
    pub async fn read<B: BufMut>(&self, buf: B) -> io::Result<B> {
        self.fd.usable()?.read(buf).await
    }

    /// Reads at least `n` bytes (`buf` needs the spare capacity for them);
    /// fails with [`io::ErrorKind::UnexpectedEof`] if the stream ends
    /// first.
    pub async fn read_n<B: BufMut>(&self, buf: B, n: usize) -> io::Result<B> {
        self.fd.usable()?.read_n(buf, n).await
    }

    /// Reads into the spare capacity of several buffers, filling them in
    /// order (`readv(2)`), waiting until there is something to read;
    /// returns them with the bytes read added. No bytes added (with spare
    /// capacity in the buffers) means the end of the stream.
    pub async fn read_vectored<B: BufMutSlice<N>, const N: usize>(&self, bufs: B) -> io::Result<B> {
        self.fd.usable()?.read_vectored(bufs).await
    }

    /// Reads at least `n` bytes into several buffers, filling them in order
    /// (they need the spare capacity for `n` bytes in all); fails with
    /// [`io::ErrorKind::UnexpectedEof`] if the stream ends first.
    pub async fn read_n_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        bufs: B,
        n: usize,
    ) -> io::Result<B> {
        self.fd.usable()?.read_n_vectored(bufs, n).await
    }
}

impl AsFd for Receiver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("fd", &self.fd).finish()
    }
}
