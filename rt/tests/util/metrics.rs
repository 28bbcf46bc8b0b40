//! Waiting for a runtime's metrics to reach a state.

use std::thread;
use std::time::{Duration, Instant};

use kiln_rt::Runtime;
use kiln_rt::metrics::RuntimeMetrics;

use super::timeout::TIMEOUT;

/// Reads `runtime.metrics()` until `done` holds for them, for at most
/// [`TIMEOUT`]; returns the last figures.
pub(crate) fn wait_for(
    runtime: &Runtime,
    done: impl Fn(&RuntimeMetrics) -> bool,
) -> RuntimeMetrics {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let metrics = runtime.metrics();
        if done(&metrics) || Instant::now() > deadline {
            return metrics;
        }
        thread::sleep(Duration::from_millis(5));
    }
}
