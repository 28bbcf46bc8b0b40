//! Unix socket addresses: conversions between std's
//! [`SocketAddr`](std::os::unix::net::SocketAddr) (the public type), socket2's
//! `SockAddr` (for the plain system calls) and [`UnixAddr`], the type given
//! to a10's operations (connect, accept, receive from).
//!
//! a10 implements its `SocketAddress` for std's type, but passes abstract
//! names padded to the full `sockaddr_un` (so they don't meet names bound
//! with their exact length, as std and socket2 bind them) and reads received
//! path names with their terminating NUL (which std rejects, so they come
//! back unnamed). [`UnixAddr`] passes and reads addresses with their exact
//! length.

use std::ffi::{OsStr, c_void};
use std::io;
use std::mem::{MaybeUninit, offset_of, size_of};
#[cfg(any(target_os = "android", target_os = "linux"))]
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::{ptr, slice};

use a10::net::{Domain, SocketAddress};
use socket2::SockAddr;

/// Where the path starts in a `sockaddr_un`: the length of an unnamed
/// address.
const PATH_OFFSET: usize = offset_of!(libc::sockaddr_un, sun_path);

/// An unnamed address (of an unbound socket).
pub(crate) fn unnamed() -> SocketAddr {
    SocketAddr::from_pathname("").expect("an empty path is a valid (unnamed) address")
}

/// Describes `address` for error messages: the path, `@name` for an
/// abstract name, or `(unnamed)`.
pub(crate) fn describe(address: &SocketAddr) -> String {
    if let Some(path) = address.as_pathname() {
        return path.display().to_string();
    }
    #[cfg(any(target_os = "android", target_os = "linux"))]
    if let Some(name) = address.as_abstract_name() {
        return format!("@{}", name.escape_ascii());
    }
    "(unnamed)".to_owned()
}

/// `path` as a socket address; a path that can't be one (too long, or with
/// a NUL byte) fails with an error that keeps its [`io::ErrorKind`] and
/// says what could not be done (`doing`, e.g. "connect to") to the path.
pub(crate) fn from_path(path: &Path, doing: &str) -> io::Result<SocketAddr> {
    SocketAddr::from_pathname(path).map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("can't {doing} {}: {err}", path.display()),
        )
    })
}

/// `err`, with its [`io::ErrorKind`], saying what could not be done
/// (`doing`, e.g. "connect to") to `address`.
pub(crate) fn address_error(err: io::Error, doing: &str, address: &SocketAddr) -> io::Error {
    io::Error::new(
        err.kind(),
        format!("can't {doing} {}: {err}", describe(address)),
    )
}

/// Where an address's bytes go in `sun_path`, the bytes, and the length of
/// the path part: a path and its terminating NUL, a NUL and an abstract
/// name, or nothing (unnamed).
fn path_bytes(address: &SocketAddr) -> (usize, &[u8], usize) {
    if let Some(path) = address.as_pathname() {
        let bytes = path.as_os_str().as_bytes();
        return (0, bytes, bytes.len() + 1);
    }
    #[cfg(any(target_os = "android", target_os = "linux"))]
    if let Some(name) = address.as_abstract_name() {
        return (1, name, name.len() + 1);
    }
    (0, &[], 0)
}

/// Converts a std address into socket2's, for bind and connect.
pub(crate) fn to_sock_addr(address: &SocketAddr) -> io::Result<SockAddr> {
    if let Some(path) = address.as_pathname() {
        return SockAddr::unix(path);
    }
    #[cfg(any(target_os = "android", target_os = "linux"))]
    if let Some(name) = address.as_abstract_name() {
        // socket2 takes a leading NUL as an abstract name.
        let mut bytes = Vec::with_capacity(name.len() + 1);
        bytes.push(0);
        bytes.extend_from_slice(name);
        return SockAddr::unix(OsStr::from_bytes(&bytes));
    }
    SockAddr::unix("")
}

/// Converts a socket2 address (from `getsockname`/`getpeername`) into a std
/// one.
pub(crate) fn from_sock_addr(address: &SockAddr) -> io::Result<SocketAddr> {
    if let Some(path) = address.as_pathname() {
        return SocketAddr::from_pathname(path);
    }
    #[cfg(any(target_os = "android", target_os = "linux"))]
    if let Some(name) = address.as_abstract_namespace() {
        return SocketAddr::from_abstract_name(name);
    }
    if address.is_unnamed() || address.len() == 0 {
        return Ok(unnamed());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "socket address is not a Unix socket address",
    ))
}

/// Converts the bytes of a `sockaddr_un` the kernel wrote (`length` of
/// them, family included) into a std address. Zero bytes (the kernel's
/// answer for an unbound sender) and anything unreadable is unnamed.
fn from_raw(raw: &[u8]) -> SocketAddr {
    let path = raw.get(PATH_OFFSET..).unwrap_or_default();
    match path.split_first() {
        None => unnamed(),
        #[cfg(any(target_os = "android", target_os = "linux"))]
        Some((0, name)) => SocketAddr::from_abstract_name(name).unwrap_or_else(|_| unnamed()),
        Some(_) => {
            // Up to the terminating NUL, if the kernel counted it.
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            SocketAddr::from_pathname(OsStr::from_bytes(&path[..end])).unwrap_or_else(|_| unnamed())
        }
    }
}

/// A Unix socket address as a10's operations take and return it, see the
/// module docs.
#[derive(Debug)]
pub(crate) struct UnixAddr(pub(crate) SocketAddr);

/// The storage of a [`UnixAddr`]: the kernel's address and its length.
#[repr(C)]
pub(crate) struct RawUnixAddr {
    /// First, so that a pointer to the storage points to it.
    address: libc::sockaddr_un,
    length: libc::socklen_t,
}

impl SocketAddress for UnixAddr {
    type Storage = RawUnixAddr;

    fn into_storage(self) -> RawUnixAddr {
        let mut address = libc::sockaddr_un {
            sun_family: libc::AF_UNIX as libc::sa_family_t,
            sun_path: [0; 108],
        };
        // The rest is zeroed: the NUL ending a path, or starting an abstract
        // name.
        let (start, bytes, path_length) = path_bytes(&self.0);
        for (dst, &src) in address.sun_path[start..].iter_mut().zip(bytes) {
            *dst = src as libc::c_char;
        }
        RawUnixAddr {
            address,
            length: (PATH_OFFSET + path_length) as libc::socklen_t,
        }
    }

    unsafe fn as_ptr(storage: &RawUnixAddr) -> (*const c_void, u32) {
        (ptr::from_ref(&storage.address).cast(), storage.length)
    }

    unsafe fn as_mut_ptr(storage: &mut MaybeUninit<RawUnixAddr>) -> (*mut c_void, u32) {
        let length = size_of::<libc::sockaddr_un>() as u32;
        (storage.as_mut_ptr().cast(), length)
    }

    unsafe fn init(storage: MaybeUninit<RawUnixAddr>, length: u32) -> UnixAddr {
        let length = (length as usize).min(size_of::<libc::sockaddr_un>());
        // SAFETY: the caller ensures the kernel wrote the first `length`
        // bytes of the storage, which starts with the `sockaddr_un`
        // (`repr(C)`), and `length` is at most its size.
        let raw = unsafe { slice::from_raw_parts(storage.as_ptr().cast::<u8>(), length) };
        UnixAddr(from_raw(raw))
    }

    fn domain(&self) -> Domain {
        Domain::UNIX
    }
}
