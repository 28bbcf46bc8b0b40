//! A logger that captures what kiln logs, for the tests that check that
//! every runtime message about an actor names it.

use std::sync::{Mutex, Once};

use super::lock;

/// Every record logged since [`capture`], as `[LEVEL] message`.
static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct CapturingLogger;

impl log::Log for CapturingLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        lock(&LOGGED).push(format!("[{}] {}", record.level(), record.args()));
    }

    fn flush(&self) {}
}

/// Installs the capturing logger for records up to `level`; only the first
/// call in a test binary does anything.
pub(crate) fn capture(level: log::LevelFilter) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CapturingLogger).expect("a logger was already set");
        log::set_max_level(level);
    });
}

/// The captured records that name `actor` (in quotes, as kiln does), in the
/// order they were logged.
pub(crate) fn logged(actor: &str) -> Vec<String> {
    let needle = format!("'{actor}'");
    lock(&LOGGED)
        .iter()
        .filter(|line| line.contains(&needle))
        .cloned()
        .collect()
}

/// Forgets the captured records that name `actor`.
pub(crate) fn forget(actor: &str) {
    let needle = format!("'{actor}'");
    lock(&LOGGED).retain(|line| !line.contains(&needle));
}
