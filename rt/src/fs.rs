//! Files and directories on io_uring: [`File`] (opened with [`File::open`],
//! [`File::create`] or [`OpenOptions`]) and the directory operations
//! [`create_dir`], [`rename`], [`remove_file`] and [`remove_dir`].
//!
//! Every operation, opening included, goes to the kernel through the ring
//! of the runtime access it was given (see [`io`](crate::io)); where a file
//! system would block, io_uring waits on a kernel thread of its own, so an
//! actor waiting for a file never blocks its worker. Like sockets, a file
//! is bound for life to the ring it was opened with: open files where they
//! are used.
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

use a10::{AsyncFd, Extract};

use crate::access::Access;
use crate::io::{Buf, BufMut};
use crate::runtime::io::FdRing;

#[doc(no_inline)]
pub use a10::fs::{FileType, Metadata, Permissions};

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
    fd: AsyncFd,
    // After `fd`, so dropped after it: counts the close `fd`'s drop queues.
    ring: FdRing,
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
    pub async fn read<B: BufMut>(&self, buf: B) -> io::Result<B> {
        self.ring.op(self.fd.read(buf)).await
    }

    /// Reads at least `n` bytes from the file's position (`buf` needs the
    /// spare capacity for them); fails with
    /// [`io::ErrorKind::UnexpectedEof`] if the file ends first.
    pub async fn read_n<B: BufMut>(&self, buf: B, n: usize) -> io::Result<B> {
        self.ring.op(self.fd.read_n(buf, n)).await
    }

    /// Reads from `offset` into the spare capacity of `buf`, leaving the
    /// file's position alone; returns it with the bytes read added (none at
    /// or past the end of the file).
    pub async fn read_at<B: BufMut>(&self, buf: B, offset: u64) -> io::Result<B> {
        self.ring.op(self.fd.read(buf).from(offset)).await
    }

    /// Reads at least `n` bytes from `offset` (`buf` needs the spare
    /// capacity for them); fails with [`io::ErrorKind::UnexpectedEof`] if
    /// the file ends first.
    pub async fn read_n_at<B: BufMut>(&self, buf: B, n: usize, offset: u64) -> io::Result<B> {
        self.ring.op(self.fd.read_n(buf, n).from(offset)).await
    }

    /// Writes some bytes of `buf` at the file's position (at the end with
    /// [`append`](OpenOptions::append)); returns it and how many.
    pub async fn write<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        self.ring.op(self.fd.write(buf).extract()).await
    }

    /// Writes all of `buf` at the file's position; returns it. Writing an
    /// empty buffer succeeds at once, as with std.
    pub async fn write_all<B: Buf>(&self, buf: B) -> io::Result<B> {
        if buf.is_empty() {
            // a10 would fail with `WriteZero`.
            return Ok(buf);
        }
        self.ring.op(self.fd.write_all(buf).extract()).await
    }

    /// Writes some bytes of `buf` at `offset`, leaving the file's position
    /// alone; returns it and how many. (A file opened to
    /// [`append`](OpenOptions::append) is written at its end regardless, as
    /// `pwrite(2)` does on Linux.)
    pub async fn write_at<B: Buf>(&self, buf: B, offset: u64) -> io::Result<(B, usize)> {
        self.ring.op(self.fd.write(buf).at(offset).extract()).await
    }

    /// Writes all of `buf` at `offset`; returns it (at once if it is
    /// empty).
    pub async fn write_all_at<B: Buf>(&self, buf: B, offset: u64) -> io::Result<B> {
        if buf.is_empty() {
            return Ok(buf); // See `write_all`.
        }
        self.ring
            .op(self.fd.write_all(buf).at(offset).extract())
            .await
    }

    /// Waits until the file's data and metadata reached the storage device
    /// (`fsync(2)`). Only writes that completed before are covered.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.ring.op(self.fd.sync_all()).await
    }

    /// Like [`sync_all`](File::sync_all), but skips metadata that is not
    /// needed to read the data back (`fdatasync(2)`), such as the time it
    /// was modified.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.ring.op(self.fd.sync_data()).await
    }

    /// The file's metadata: its type, length, permissions and times.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.ring.op(self.fd.metadata()).await
    }

    /// Truncates the file to `len` bytes, or extends it with zero bytes.
    /// The file's position is left alone, even if it is past the new end.
    pub async fn set_len(&self, len: u64) -> io::Result<()> {
        self.ring.op(self.fd.truncate(len)).await
    }
}

impl AsFd for File {
    /// The file descriptor, e.g. for
    /// [`TcpStream::send_file`](crate::net::TcpStream::send_file).
    fn as_fd(&self) -> BorrowedFd<'_> {
        // Files are opened as regular descriptors (never io_uring's direct
        // descriptors), for which a10 always has one.
        self.fd
            .as_fd()
            .expect("a file is a regular file descriptor")
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("fd", &self.fd).finish()
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

    /// Opens the file at `path` with these options, on the ring of `rt`.
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
        let options = self
            .to_a10()
            .map_err(|reason| named_error(io::ErrorKind::InvalidInput, "open", path, reason))?;
        let ring = rt.io_ring();
        let fd = ring
            .op(options.open(ring.sq(), path.to_path_buf()))
            .await
            .map_err(|err| path_error("open", path, &err))?;
        Ok(File {
            fd,
            ring: FdRing::new(ring),
        })
    }

    /// The a10 options, or why these options make no sense (the checks of
    /// std's `OpenOptions`).
    fn to_a10(&self) -> Result<a10::fs::OpenOptions, &'static str> {
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
        let mut options = a10::fs::OpenOptions::new();
        options = match (self.read, writes) {
            (true, true) => options.write(),
            (false, true) => options.write_only(),
            _ => options, // Read only.
        };
        if self.append {
            options = options.append();
        }
        if self.create_new {
            options = options.create_new();
        } else {
            if self.create {
                options = options.create();
            }
            if self.truncate {
                options = options.truncate();
            }
        }
        Ok(options.mode(self.mode))
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
    let ring = rt.io_ring();
    ring.op(a10::fs::create_dir(ring.sq(), path.to_path_buf()))
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
    let ring = rt.io_ring();
    ring.op(a10::fs::remove_file(ring.sq(), path.to_path_buf()))
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
    let ring = rt.io_ring();
    ring.op(a10::fs::remove_dir(ring.sq(), path.to_path_buf()))
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
    let ring = rt.io_ring();
    ring.op(a10::fs::rename(
        ring.sq(),
        from.to_path_buf(),
        to.to_path_buf(),
    ))
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
