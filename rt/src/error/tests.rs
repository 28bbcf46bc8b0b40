//! The io_uring set-up errors tell the user what to do, for each error code
//! the kernel gives.

use std::io;

use super::Error;

/// The message of an io_uring set-up error with `errno`.
fn message(errno: i32) -> String {
    let err = Error::io_uring(io::Error::from_raw_os_error(errno));
    assert!(err.is_io_uring_unavailable());
    err.to_string()
}

#[test]
fn a_kernel_too_old_names_the_version_needed() {
    // No io_uring at all, and a kernel before 6.6 (it refuses the set-up
    // flags a10 asks for).
    for errno in [libc::ENOSYS, libc::EINVAL] {
        let msg = message(errno);
        assert!(msg.contains("Linux 6.6 or later"), "{msg}");
    }
}

#[test]
fn a_blocked_io_uring_names_seccomp_and_the_sysctl() {
    let msg = message(libc::EPERM);
    assert!(msg.contains("seccomp"), "{msg}");
    assert!(msg.contains("kernel.io_uring_disabled"), "{msg}");
    assert!(
        msg.ends_with("Operation not permitted (os error 1)"),
        "{msg}"
    );
}

#[test]
fn out_of_descriptors_says_ulimit() {
    let msg = message(libc::EMFILE);
    assert!(msg.contains("ulimit -n"), "{msg}");
}
