//! `use kiln_rt::*` leaves the standard prelude alone: the crate root
//! re-exports no name of std's prelude. It once re-exported `Sync` (the
//! runtime access of synchronous actors), which shadowed
//! `std::marker::Sync`, so `T: Sync` below named a struct and this file did
//! not compile.

#![allow(unused_imports, reason = "the glob import is what is tested")]

use kiln_rt::*;

/// Needs `std::marker::Sync`, and `Send`, through the prelude.
fn shared_across_threads<T: Sync + Send>(value: &T) -> &T {
    value
}

#[test]
fn glob_import_keeps_std_sync() {
    let value = std::sync::atomic::AtomicUsize::new(1);
    assert_eq!(
        shared_across_threads(&value).load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // The runtime access of synchronous actors is still there, by its module.
    let _: Option<access::Sync> = None;
}
