//! `kiln_rt::Error`: bad setups fail in `build` with a message that says what to fix (no panic),
//! and the error type behaves (`Display`, `Debug`, `source`, `Send + Sync`, `?` into
//! `Box<dyn Error>`).

use std::convert::Infallible;
use std::error::Error as _;
use std::num::NonZeroUsize;
use std::thread;

use kiln_rt::{Error, MAX_THREADS, Runtime, RuntimeRef};

/// Builds a runtime with `threads` workers, expecting it to fail.
fn build_error(threads: usize) -> Error {
    match Runtime::setup().num_threads(threads).build() {
        Ok(runtime) => panic!("a runtime with {threads} workers was built: {runtime:?}"),
        Err(err) => err,
    }
}

#[test]
fn zero_threads_is_refused() {
    let err = build_error(0);
    assert_eq!(
        err.to_string(),
        "invalid runtime setup: the number of worker threads must be at least 1"
    );
    assert!(err.source().is_none());
    assert!(!err.is_io_uring_unavailable());
    assert_eq!(err.exit_signal_received(), None);
}

#[test]
fn more_than_max_threads_is_refused() {
    let err = build_error(MAX_THREADS + 1);
    let msg = err.to_string();
    assert!(msg.starts_with("invalid runtime setup: "), "{msg}");
    assert!(msg.contains(&format!("at most {MAX_THREADS}")), "{msg}");
    assert!(err.source().is_none());
    assert!(!err.is_io_uring_unavailable());
}

#[test]
fn debug_is_display() {
    // `main` returning `Err` prints `Debug`: it must read as well as `Display`.
    let err = build_error(0);
    assert_eq!(format!("{err:?}"), err.to_string());
}

#[test]
fn error_is_send_sync_and_static() {
    fn assert_bounds<E: std::error::Error + Send + Sync + 'static>() {}
    assert_bounds::<Error>();

    fn fails() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Runtime::setup().num_threads(0).build()?;
        Ok(())
    }
    let err = fails().unwrap_err();
    assert!(err.downcast_ref::<Error>().is_some());
}

#[test]
fn valid_setups_build() {
    let setup = Runtime::setup().with_name("valid").num_threads(2);
    assert_eq!(setup.get_threads(), 2);
    let runtime = setup.build().expect("can't build a runtime with 2 workers");
    let debug = format!("{runtime:?}");
    assert!(debug.contains("valid"), "{debug}");
    runtime.start().unwrap();

    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let setup = Runtime::setup().use_all_cores().auto_cpu_affinity();
    assert_eq!(setup.get_threads(), cores);
    let mut runtime = setup.build().expect("can't build a runtime on all cores");
    // Every worker runs (and was pinned, or logged why not).
    runtime
        .run_on_workers(|_: RuntimeRef| -> Result<(), Infallible> { Ok(()) })
        .unwrap();
    runtime.start().unwrap();

    Runtime::new()
        .expect("can't build the default runtime")
        .start()
        .unwrap();
}

#[test]
fn a_user_error_has_no_source() {
    #[derive(Debug)]
    struct Custom;

    impl std::fmt::Display for Custom {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("custom setup error")
        }
    }

    let mut runtime = Runtime::new().unwrap();
    let err = runtime
        .run_on_workers(|_: RuntimeRef| -> Result<(), Custom> { Err(Custom) })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error running a function on the workers: custom setup error"
    );
    // The user's error is passed as text: there is no typed source to downcast to.
    assert!(err.source().is_none());
    runtime.start().unwrap();
}
