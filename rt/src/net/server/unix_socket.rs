//! A [`Server`](super::Server) on a Unix-domain stream socket: one
//! listening socket shared by every server actor, and the socket file it
//! made removed when the last server and setup are gone.
//!
//! # One socket for every worker
//!
//! `AF_UNIX` has no `SO_REUSEPORT`: a path or abstract name can be bound by
//! one socket only. So [`UnixSocket::bind`] binds and listens once, when
//! the setup is made, and every server actor accepts on a duplicate of that
//! descriptor (`F_DUPFD_CLOEXEC`) registered with its own worker's ring (or
//! poll instance). The duplicates share one listen queue: the kernel gives
//! each connection to one of the accepts waiting on it (on the poll driver
//! every waiting worker is woken, one accepts, the others find nothing and
//! wait again). A server at its connection limit stops accepting and the
//! others take the connections, unlike TCP, where the kernel keeps handing
//! each listener its share.
//!
//! The socket listens from [`Server::new_unix`](super::Server::new_unix)
//! until the setup, its clones and the server actors are all gone: a
//! restarted server refuses nothing in between, and connections made while
//! no server actor runs wait in the listen backlog.
//!
//! # The socket file
//!
//! Binding to a path that exists fails with `AddrInUse`, whatever the file
//! is: the server never removes a file it did not make. When the socket is
//! dropped it removes the socket file it made, if the path still names that
//! file (a socket with the device and inode the path had right after the
//! bind): a file put in its place meanwhile is left alone. A process killed
//! before (`SIGKILL`) leaves the file, and the next bind names the path and
//! says to remove it. Abstract names leave no file.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use log::{debug, warn};
use socket2::Socket;

use crate::net::server::listener::{Bound, impl_listen};
use crate::net::unix::{SocketAddr, UnixListener, UnixStream, bind_listening, describe};

/// A Unix server's listening socket, see the [module docs](self).
#[derive(Debug)]
pub struct UnixSocket {
    socket: Socket,
    /// The socket file bound to a path name, removed when dropped.
    file: Option<SocketFile>,
}

/// A socket file made by a bind: its path, and its device and inode, to
/// tell it from a file put in its place later.
#[derive(Debug)]
struct SocketFile {
    path: PathBuf,
    device: u64,
    inode: u64,
}

impl UnixSocket {
    /// Binds to `address` and listens.
    pub(crate) fn bind(address: &SocketAddr) -> io::Result<Bound<UnixListener>> {
        let socket = bind_listening(address, "a server")?;
        let file = match address.as_pathname() {
            Some(path) => Some(SocketFile::made_at(path)?),
            None => None,
        };
        Ok(Bound {
            address: address.clone(),
            reservation: UnixSocket { socket, file },
        })
    }
}

impl SocketFile {
    /// The socket file a bind just made at `path`.
    fn made_at(path: &Path) -> io::Result<SocketFile> {
        let metadata = fs::symlink_metadata(path).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!(
                    "can't find the socket file just bound at {}: {err}",
                    path.display()
                ),
            )
        })?;
        Ok(SocketFile {
            path: path.to_owned(),
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }

    /// Removes the file if the path still names it.
    fn remove(&self) {
        let path = self.path.display();
        match fs::symlink_metadata(&self.path) {
            Ok(metadata)
                if metadata.file_type().is_socket()
                    && metadata.dev() == self.device
                    && metadata.ino() == self.inode =>
            {
                match fs::remove_file(&self.path) {
                    Ok(()) => debug!("server on {path}: socket file removed"),
                    Err(err) => warn!("server on {path}: can't remove the socket file: {err}"),
                }
            }
            Ok(_) => debug!("server on {path}: the path names another file now, left alone"),
            Err(err) => debug!("server on {path}: the socket file is gone ({err})"),
        }
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            file.remove();
        }
    }
}

impl_listen!(
    UnixListener {
        stream: UnixStream,
        address: SocketAddr,
        reservation: UnixSocket,
    }
    listen: |bound, io| {
        let address = describe(&bound.address);
        let socket = bound.reservation.socket.try_clone().map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("server on {address}: can't duplicate the listening socket: {err}"),
            )
        })?;
        UnixListener::from_socket(socket.into(), io)
    },
    fmt_address: |address, f| f.write_str(&describe(address)),
);
