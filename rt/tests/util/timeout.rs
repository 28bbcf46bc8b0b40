//! How long the tests wait before they fail: one bound for a single wait,
//! and a longer one for a whole run made of such waits.
//!
//! Both are safety nets, far above what a passing test takes: the tests run
//! on loaded machines (a 2-vCPU VM building other crates at the same time),
//! and only a failing test ever waits this long. A file that needs another
//! duration (a timer under test, a bound that is itself the assertion) names
//! it for what it measures, not `TIMEOUT`.

use std::time::Duration;

/// How long a test waits for one thing it expects before it fails: a
/// message or reply on a channel, an operation of an actor (through
/// `Deadline`), a connection, a child's output, an actor's end.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

/// How long a whole run may take before the test fails: a runtime from
/// `start` to its end, a child process, a scenario on a thread of its own.
/// Longer than [`TIMEOUT`], so that when a wait inside the run times out the
/// test fails with that wait's own message rather than with "did not end".
pub(crate) const RUN_TIMEOUT: Duration = Duration::from_secs(120);
