//! Running a test's actors on a runtime of its own.

use std::convert::Infallible;

use kiln_rt::{Runtime, RuntimeRef};

/// Runs `f` on a one-worker runtime, then runs the runtime until everything
/// `f` spawned has finished.
pub(crate) fn run_on_one_worker(f: impl FnOnce(RuntimeRef) + Send + Clone + 'static) {
    let mut runtime = Runtime::new().expect("can't build runtime");
    runtime
        .run_on_workers(move |rt: RuntimeRef| -> Result<(), Infallible> {
            f(rt);
            Ok(())
        })
        .expect("run_on_workers failed");
    runtime.start().expect("runtime failed");
}
