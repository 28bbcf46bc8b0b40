//! A logger that keeps warnings and errors, so tests can check the log
//! lines kiln-remote promises (a warning for plaintext, a line for each
//! link it closes).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use kiln_rt::access::ThreadSafe;
use kiln_rt::timer::Timer;

/// The lines logged so far.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{}: {}", record.level(), record.args());
            LINES
                .lock()
                .unwrap_or_else(|err| err.into_inner())
                .push(line);
        }
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

/// Keeps the warnings and errors of this test binary from now on.
pub(crate) fn capture() {
    if log::set_logger(&CAPTURE).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

/// Runs `f` over the lines logged so far that contain all of `parts`.
fn matching<R>(parts: &[&str], f: impl FnOnce(&mut dyn Iterator<Item = &String>) -> R) -> R {
    let lines = LINES.lock().unwrap_or_else(|err| err.into_inner());
    f(&mut lines
        .iter()
        .filter(|line| parts.iter().all(|part| line.contains(part))))
}

/// The first line logged that contains all of `parts`.
pub(crate) fn find(parts: &[&str]) -> Option<String> {
    matching(parts, |lines| lines.next().cloned())
}

/// How many lines logged so far contain all of `parts`.
pub(crate) fn count(parts: &[&str]) -> usize {
    matching(parts, |lines| lines.count())
}

/// Waits (up to `super::TIMEOUT`) for a line that contains all of
/// `parts`, and returns it.
pub(crate) async fn logged(rt: &ThreadSafe, parts: &[&str]) -> String {
    let start = Instant::now();
    loop {
        if let Some(line) = find(parts) {
            return line;
        }
        assert!(
            start.elapsed() < super::TIMEOUT,
            "no log line with {parts:?} in: {:#?}",
            LINES.lock().unwrap_or_else(|err| err.into_inner())
        );
        Timer::after(rt.clone(), Duration::from_millis(10)).await;
    }
}
