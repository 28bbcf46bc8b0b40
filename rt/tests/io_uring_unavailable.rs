//! When io_uring cannot be used (here: blocked by a seccomp filter, as
//! Docker's default profile does), building a runtime fails with an error
//! that names the cause; it does not panic.
//!
//! The test re-runs itself in a child process that installs the filter, so
//! the rest of the test suite keeps io_uring.

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::env;
use std::process::Command;

const CHILD: &str = "KILN_IO_URING_SECCOMP_CHILD";
const MARKER: &str = "BUILD-RESULT:";

#[test]
fn build_fails_with_a_clear_error_when_io_uring_is_blocked() {
    if env::var_os(CHILD).is_some() {
        block_io_uring_setup();
        match kiln_rt::Runtime::new() {
            Ok(_) => println!("{MARKER} ok"),
            Err(err) => println!(
                "{MARKER} unavailable={} {err}",
                err.is_io_uring_unavailable()
            ),
        }
        return;
    }
    let output = Command::new(env::current_exe().expect("no test binary"))
        .args([
            "--exact",
            "build_fails_with_a_clear_error_when_io_uring_is_blocked",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .expect("can't run the child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| {
            line.split_once(MARKER)
                .map(|(_, rest)| rest.trim().to_owned())
        })
        .unwrap_or_else(|| {
            panic!(
                "child printed no result:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert!(
        line.starts_with("unavailable=true "),
        "unexpected result: {line}"
    );
    assert!(
        line.contains("seccomp"),
        "error does not name the cause: {line}"
    );
    assert!(
        line.contains("io_uring"),
        "error does not name io_uring: {line}"
    );
}

/// Installs a seccomp filter on this process that makes `io_uring_setup`
/// fail with `EPERM`, like Docker's default profile.
fn block_io_uring_setup() {
    const LD_ABS_W: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    // Offsets in `struct seccomp_data`: `nr` at 0, `arch` at 4.
    let filter = [
        libc::sock_filter {
            code: LD_ABS_W,
            jt: 0,
            jf: 0,
            k: 4,
        },
        // Not x86_64: allow (only the x86_64 syscall number is known here).
        libc::sock_filter {
            code: JEQ_K,
            jt: 0,
            jf: 3,
            k: 0xC000_003E,
        },
        libc::sock_filter {
            code: LD_ABS_W,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: JEQ_K,
            jt: 0,
            jf: 1,
            k: libc::SYS_io_uring_setup as u32,
        },
        libc::sock_filter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | (libc::EPERM as u32 & libc::SECCOMP_RET_DATA),
        },
        libc::sock_filter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: plain prctl calls; `program` points to a valid filter that
    // outlives the call (the kernel copies it).
    unsafe {
        assert_eq!(
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
            0,
            "PR_SET_NO_NEW_PRIVS"
        );
    }
    // SAFETY: see above.
    let res = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &raw const program,
        )
    };
    assert_eq!(
        res,
        0,
        "can't install seccomp filter: {}",
        std::io::Error::last_os_error()
    );
}
