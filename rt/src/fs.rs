//! Files and directories: [`File`] (opened with [`File::open`],
//! [`File::create`] or [`OpenOptions`]) and the directory operations
//! [`create_dir`], [`rename`], [`remove_file`] and [`remove_dir`].
//!
//! Every operation, opening included, goes through the I/O driver of the
//! runtime access it was given (see [`io`](crate::io)), so an actor waiting
//! for a file never blocks its worker:
//!
//! - On io_uring, operations go to the kernel through the ring; where a
//!   file system would block, io_uring waits on a kernel thread of its own.
//!   Like sockets, a file is bound for life to the ring it was opened with:
//!   open files where they are used.
//! - On the poll driver (epoll, where io_uring is blocked), epoll can't wait
//!   for regular files, so, as in tokio, file operations run on a small pool
//!   of threads (`kiln-blocking`, at most 64, shared by the process, each
//!   ending after 10 s without work) and complete the actor's future. An
//!   operation dropped before its thread started it never runs; one that
//!   started runs to its end.
//!
//! The pool thread owns an operation's buffer while it runs, so buffers of
//! file operations must be `Send` (every buffer type of
//! [`io`](crate::io) is).
//!
//! # Positions
//!
//! [`read`](File::read) and [`write`](File::write) use and advance the
//! file's position, like `read(2)` and `write(2)`. Two of them running at
//! once on one file race over that position; for concurrent I/O use the
//! positional operations ([`read_at`](File::read_at),
//! [`write_at`](File::write_at), ...), which leave it alone.
//!
//! # Errors
//!
//! Operations that take a path keep the [`io::ErrorKind`] of the failure and
//! name the path: opening a missing file fails with
//! [`NotFound`](io::ErrorKind::NotFound) and the message
//! `can't open /x/y: No such file or directory (os error 2)`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use crate::access::Access;
use crate::io::{Buf, BufMut};
use crate::runtime::io::file::{self as io_file, IoFile, OpenHow};

mod metadata;

pub use metadata::{FileType, Metadata, Permissions};

/// An open file.
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use kiln_rt::fs::File;
///
/// async fn copy_head(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
///     let rt = ctx.runtime_ref();
///     let source = File::open(rt, "/etc/hostname").await?;
///     // At most 4 KiB from the start of the file.
///     let buf = source.read_at(Vec::with_capacity(4096), 0).await?;
///     let copy = File::create(rt, "/tmp/hostname.copy").await?;
///     copy.write_all(buf).await?;
///     copy.sync_all().await?;
///     Ok(())
/// }
/// ```
pub struct File {
    file: IoFile,
}

impl File {
    /// Opens the file at `path` for reading.
    pub async fn open<RT, P>(rt: &RT, path: P) -> io::Result<File>
    where
        RT: Access + ?Sized,
        P: AsRef<Path>,
    {
        OpenOptions::new().read(true).open(rt, path).await
    }

    /// Opens the file at `path` for writing, creating it if it does not
    /// exist and truncating it if it does.
    pub async fn create<RT, P>(rt: &RT, path: P) -> io::Result<File>
    where
        RT: Access + ?Sized,
        P: AsRef<Path>,
    {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(rt, path)
            .await
    }

    /// Reads from the file's position into the spare capacity of `buf`;
    /// returns it with the bytes read added (none at the end of the file,
    /// or if `buf` has no spare capacity).
    pub async fn read<B: BufMut + Send>(&self, buf: B) -> io::Result<B> {
        self.file.read(buf, None).await
    }

    /// Reads at least `n` bytes from the file's position (`buf` needs the
    /// spare capacity for them); fails with
    /// [`io::ErrorKind::UnexpectedEof`] if the file ends first.
    pub async fn read_n<B: BufMut + Send>(&self, buf: B, n: usize) -> io::Result<B> {
        self.file.read_n(buf, n, None).await
    }

    /// Reads from `offset` into the spare capacity of `buf`, leaving the
    /// file's position alone; returns it with the bytes read added (none at
    /// or past the end of the file).
    pub async fn read_at<B: BufMut + Send>(&self, buf: B, offset: u64) -> io::Result<B> {
        self.file.read(buf, Some(offset)).await
    }

    /// Reads at least `n` bytes from `offset` (`buf` needs the spare
    /// capacity for them); fails with [`io::ErrorKind::UnexpectedEof`] if
    /// the file ends first.
    pub async fn read_n_at<B: BufMut + Send>(
        &self,
        buf: B,
        n: usize,
        offset: u64,
    ) -> io::Result<B> {
        self.file.read_n(buf, n, Some(offset)).await
    }

    /// Writes some bytes of `buf` at the file's position (at the end with
    /// [`append`](OpenOptions::append)); returns it and how many.
    pub async fn write<B: Buf + Send>(&self, buf: B) -> io::Result<(B, usize)> {
        self.file.write(buf, None).await
    }

    /// Writes all of `buf` at the file's position; returns it. Writing an
    /// empty buffer succeeds at once, as with std.
    pub async fn write_all<B: Buf + Send>(&self, buf: B) -> io::Result<B> {
        self.file.write_all(buf, None).await
    }

    /// Writes some bytes of `buf` at `offset`, leaving the file's position
    /// alone; returns it and how many. (A file opened to
    /// [`append`](OpenOptions::append) is written at its end regardless, as
    /// `pwrite(2)` does on Linux.)
    pub async fn write_at<B: Buf + Send>(&self, buf: B, offset: u64) -> io::Result<(B, usize)> {
        self.file.write(buf, Some(offset)).await
    }

    /// Writes all of `buf` at `offset`; returns it (at once if it is
    /// empty).
    pub async fn write_all_at<B: Buf + Send>(&self, buf: B, offset: u64) -> io::Result<B> {
        self.file.write_all(buf, Some(offset)).await
    }

    /// Waits until the file's data and metadata reached the storage device
    /// (`fsync(2)`). Only writes that completed before are covered.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.file.sync(false).await
    }

    /// Like [`sync_all`](File::sync_all), but skips metadata that is not
    /// needed to read the data back (`fdatasync(2)`), such as the time it
    /// was modified.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.file.sync(true).await
    }

    /// The file's metadata: its type, length, permissions and times.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.file.metadata().await.map(Metadata::new)
    }

    /// Truncates the file to `len` bytes, or extends it with zero bytes.
    /// The file's position is left alone, even if it is past the new end.
    pub async fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len).await
    }
}

impl AsFd for File {
    /// The file descriptor, e.g. for
    /// [`TcpStream::send_file`](crate::net::TcpStream::send_file).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("fd", &self.as_fd()).finish()
    }
}

/// How to open a file: with what access, and whether to create or truncate
/// it. The options and their defaults are those of
/// [`std::fs::OpenOptions`]; [`open`](OpenOptions::open) takes the runtime
/// access.
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use kiln_rt::fs::OpenOptions;
///
/// async fn log_line(ctx: actor::Context<(), ThreadLocal>, line: String) -> io::Result<()> {
///     let log = OpenOptions::new()
///         .append(true)
///         .create(true)
///         .mode(0o600)
///         .open(ctx.runtime_ref(), "/tmp/kiln.log")
///         .await?;
///     log.write_all(line).await?;
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
}

impl OpenOptions {
    /// No access at all, nothing created: set at least one of `read`,
    /// `write` and `append`.
    pub const fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
        }
    }

    /// Opens the file for reading.
    pub const fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.read = read;
        self
    }

    /// Opens the file for writing.
    pub const fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.write = write;
        self
    }

    /// Opens the file for writing at its end only (`O_APPEND`): every
    /// write goes to the end, wherever the file's position is. Implies
    /// `write`.
    pub const fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.append = append;
        self
    }

    /// Truncates an existing file to zero bytes. Needs `write`.
    pub const fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.truncate = truncate;
        self
    }

    /// Creates the file if it does not exist. Needs `write` or `append`.
    pub const fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.create = create;
        self
    }

    /// Creates the file, failing with
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) if it exists
    /// (`O_EXCL`); `create` and `truncate` are then ignored. Needs `write` or
    /// `append`.
    pub const fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.create_new = create_new;
        self
    }

    /// The permission bits of a created file, before the process's umask
    /// applies; `0o666` by default.
    pub const fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.mode = mode;
        self
    }

    /// Opens the file at `path` with these options, on the I/O driver of
    /// `rt`.
    ///
    /// Fails with [`InvalidInput`](io::ErrorKind::InvalidInput) for options
    /// that contradict each other (no access, or creating a file without
    /// write access), and otherwise with the kind of the system's error; the
    /// message names the path.
    pub async fn open<RT, P>(&self, rt: &RT, path: P) -> io::Result<File>
    where
        RT: Access + ?Sized,
        P: AsRef<Path>,
    {
        let path = path.as_ref();
        let how = self
            .how()
            .map_err(|reason| named_error(io::ErrorKind::InvalidInput, "open", path, reason))?;
        let file = io_file::open(&rt.io(), how, path.to_path_buf())
            .await
            .map_err(|err| path_error("open", path, &err))?;
        Ok(File { file })
    }

    /// How to open the file, or why these options make no sense (the checks
    /// of std's `OpenOptions`).
    const fn how(&self) -> Result<OpenHow, &'static str> {
        let writes = self.write || self.append;
        if !self.read && !writes {
            return Err("no access asked for: set read, write or append");
        }
        if !writes && (self.create || self.create_new || self.truncate) {
            return Err("creating or truncating a file needs write or append access");
        }
        if self.append && self.truncate && !self.create_new {
            return Err("a file opened to append can't also be truncated");
        }
        Ok(OpenHow {
            read: self.read,
            write: writes,
            append: self.append,
            truncate: self.truncate,
            create: self.create,
            create_new: self.create_new,
            mode: self.mode,
        })
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

/// Creates the directory `path`; its parent must exist.
pub async fn create_dir<RT, P>(rt: &RT, path: P) -> io::Result<()>
where
    RT: Access + ?Sized,
    P: AsRef<Path>,
{
    let path = path.as_ref();
    io_file::create_dir(&rt.io(), path.to_path_buf())
        .await
        .map_err(|err| path_error("create directory", path, &err))
}

/// Removes the file (or symbolic link) `path`.
pub async fn remove_file<RT, P>(rt: &RT, path: P) -> io::Result<()>
where
    RT: Access + ?Sized,
    P: AsRef<Path>,
{
    let path = path.as_ref();
    io_file::remove_file(&rt.io(), path.to_path_buf())
        .await
        .map_err(|err| path_error("remove file", path, &err))
}

/// Removes the directory `path`, which must be empty.
pub async fn remove_dir<RT, P>(rt: &RT, path: P) -> io::Result<()>
where
    RT: Access + ?Sized,
    P: AsRef<Path>,
{
    let path = path.as_ref();
    io_file::remove_dir(&rt.io(), path.to_path_buf())
        .await
        .map_err(|err| path_error("remove directory", path, &err))
}

/// Renames the file or directory `from` to `to`, replacing `to` if it
/// exists (`rename(2)`: a directory replaces only an empty directory).
pub async fn rename<RT, P, Q>(rt: &RT, from: P, to: Q) -> io::Result<()>
where
    RT: Access + ?Sized,
    P: AsRef<Path>,
    Q: AsRef<Path>,
{
    let (from, to) = (from.as_ref(), to.as_ref());
    io_file::rename(&rt.io(), from.to_path_buf(), to.to_path_buf())
        .await
        .map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("can't rename {} to {}: {err}", from.display(), to.display()),
            )
        })
}

/// `err` of `what` on `path`, naming the path; keeps the error's kind.
fn path_error(what: &str, path: &Path, err: &io::Error) -> io::Error {
    named_error(err.kind(), what, path, err)
}

fn named_error(
    kind: io::ErrorKind,
    what: &str,
    path: &Path,
    reason: impl fmt::Display,
) -> io::Error {
    io::Error::new(kind, format!("can't {what} {}: {reason}", path.display()))
}
