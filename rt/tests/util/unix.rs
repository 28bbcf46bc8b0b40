//! Unix-domain sockets in the tests: abstract names no other process uses.

use std::os::linux::net::SocketAddrExt;

use kiln_rt::net::unix::SocketAddr;

/// An abstract name unique to this process and `name`.
pub(crate) fn abstract_addr(name: &str) -> SocketAddr {
    let name = format!("kiln-rt-{}-{name}", std::process::id());
    SocketAddr::from_abstract_name(name).expect("invalid abstract name")
}
