//! I/O for actors: buffers, and the plumbing every I/O type of kiln-rt
//! shares.
//!
//! # Buffers are passed by value
//!
//! io_uring operations run in the kernel while the actor waits; the kernel
//! reads or writes the buffer until the operation completes. So a buffer is
//! given to the operation by value and handed back with its result:
//!
//! ```ignore
//! let buf = stream.recv(Vec::with_capacity(4096)).await?;
//! let buf = stream.send_all(buf).await?;
//! ```
//!
//! Dropping an operation's future before it completes (e.g. under a
//! [`Deadline`](crate::timer::Deadline)) is safe and leaks nothing: the
//! operation is cancelled and the buffer is freed once the kernel is done
//! with it.
//!
//! But a cancellation can lose the race with the operation: the kernel may
//! have completed it (received the bytes, accepted the connection, written
//! the data) before it sees the cancellation, and the result then goes
//! with the dropped future. This is how completion-based I/O works (tokio-uring
//! and monoio have the same rule), unlike readiness-based I/O, where a
//! dropped read has read nothing. So do not drop a receive whose bytes you
//! still want: after a [`Deadline`](crate::timer::Deadline) on a `recv` has
//! passed, treat the connection's stream as out of step (close it, or
//! resynchronise at the protocol level), as a timed-out request usually
//! means anyway. Dropping an `accept` may likewise close a connection just
//! accepted, which its client sees as a reset.
//!
//! The rule is io_uring's and holds on both [drivers](IoDriver): on the
//! poll driver (epoll) an operation that would block has done nothing, so
//! a dropped receive there has received nothing, and loses nothing. File
//! operations and some standard streams run on a pool of threads there
//! (see [`fs`](crate::fs)): one that started runs to its end, like a
//! completed io_uring operation, and its result goes with the dropped
//! future.
//!
//! Receiving fills the spare capacity of a [`BufMut`]: a `Vec<u8>` (its
//! length grows by the bytes received), an [`ArrayBuf`] (a fixed-size
//! array), or a [`LimitedBuf`] to read at most some bytes. Sending takes a
//! [`Buf`]: `Vec<u8>`, `String`, `Box<[u8]>`, `Box<str>`, `Arc<[u8]>`,
//! `&'static [u8]`, `&'static str`, an [`ArrayBuf`], or a [`StaticBuf`].
//! Vectored operations take arrays (or tuples) of buffers ([`BufSlice`],
//! [`BufMutSlice`]).
//!
//! These traits are a10's, the I/O library kiln-rt runs on; they are re-exported
//! here so that users need not depend on a10.
//!
//! # Which ring
//!
//! An I/O type (a socket, a file, a pipe) is bound to the ring (or, on the
//! poll driver, the poll instance) of the runtime access it was created
//! with: thread-local actors use their worker's, thread-safe and
//! synchronous actors the runtime's shared one. See the module docs of
//! [`net`](crate::net).

mod array;
pub(crate) mod driver;
mod stdio;

pub use array::ArrayBuf;
pub use driver::{InvalidIoDriver, IoDriver};
pub use stdio::{Stderr, Stdin, Stdout, stderr, stdin, stdout};

#[doc(no_inline)]
pub use a10::io::{Buf, BufMut, BufMutSlice, BufSlice, LimitedBuf, StaticBuf};
