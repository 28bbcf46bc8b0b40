//! A datagram socket standing in for systemd's notify socket
//! (`NOTIFY_SOCKET`), for the tests of `kiln_rt::systemd` and of the example
//! that uses it.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use super::temp_dir::TempDir;

/// A datagram socket standing in for systemd's notify socket.
#[derive(Debug)]
pub(crate) struct FakeSystemd {
    socket: UnixDatagram,
    /// The address as `NOTIFY_SOCKET` names it.
    address: String,
    /// The directory of the socket file, removed on drop.
    _dir: Option<TempDir>,
}

impl FakeSystemd {
    /// Bound to a path in a directory of its own for test `name`.
    pub(crate) fn at_path(name: &str) -> FakeSystemd {
        let dir = TempDir::new(&format!("systemd-{name}"));
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("can't bind the fake notify socket");
        FakeSystemd {
            socket,
            address: path.to_str().expect("temp dir is not UTF-8").to_owned(),
            _dir: Some(dir),
        }
    }

    /// Bound to a name, unique to this process and `name`, in the abstract
    /// namespace.
    pub(crate) fn abstract_name(name: &str) -> FakeSystemd {
        let name = format!("kiln-systemd-{}-{name}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let socket = UnixDatagram::bind_addr(&address).expect("can't bind the fake notify socket");
        FakeSystemd {
            socket,
            address: format!("@{name}"),
            _dir: None,
        }
    }

    /// The address as `NOTIFY_SOCKET` names it.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// The next datagram, if one arrives within `timeout`.
    pub(crate) fn recv(&self, timeout: Duration) -> Option<String> {
        self.socket.set_read_timeout(Some(timeout)).unwrap();
        let mut buf = [0; 4096];
        match self.socket.recv(&mut buf) {
            Ok(n) => Some(String::from_utf8(buf[..n].to_vec()).expect("datagram is not UTF-8")),
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(err) => panic!("can't receive: {err}"),
        }
    }
}
