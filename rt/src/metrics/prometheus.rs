//! [`RuntimeMetrics`] in Prometheus' text exposition format (version 0.0.4):
//! `# HELP` and `# TYPE` lines, then one sample per line, see
//! <https://prometheus.io/docs/instrumenting/exposition_formats/>.

use std::fmt::{self, Write};
use std::time::Duration;

use super::{RuntimeMetrics, WorkerMetrics, WorkerState};

/// Writes `metrics` to `out`.
pub(super) fn write(metrics: &RuntimeMetrics, out: &mut impl Write) -> fmt::Result {
    let rt = Label(&metrics.name);
    let mut w = Writer { out, rt };

    w.family(
        "uptime_seconds",
        "gauge",
        "Time since the runtime was built.",
    )?;
    w.sample("uptime_seconds", "", seconds(metrics.uptime))?;
    w.family(
        "io_driver_info",
        "gauge",
        "The I/O driver the runtime runs (the label), always 1.",
    )?;
    w.sample(
        "io_driver_info",
        &format!("driver=\"{}\"", metrics.io_driver.name()),
        1,
    )?;
    if let Some(cpu) = metrics.cpu_time {
        w.family(
            "process_cpu_seconds_total",
            "counter",
            "CPU time of the whole process.",
        )?;
        w.sample("process_cpu_seconds_total", "", seconds(cpu))?;
    }

    w.family("actors", "gauge", "Actors alive, by kind.")?;
    w.sample(
        "actors",
        "kind=\"thread-local\"",
        metrics.thread_local_actors(),
    )?;
    w.sample("actors", "kind=\"thread-safe\"", metrics.thread_safe_actors)?;
    w.sample("actors", "kind=\"sync\"", metrics.sync_actors)?;
    let thread_local_futures: u64 = metrics.workers.iter().map(|w| w.thread_local_futures).sum();
    w.family("futures", "gauge", "Spawned futures alive, by kind.")?;
    w.sample("futures", "kind=\"thread-local\"", thread_local_futures)?;
    w.sample(
        "futures",
        "kind=\"thread-safe\"",
        metrics.thread_safe_futures,
    )?;
    w.family(
        "thread_safe_processes",
        "gauge",
        "Thread-safe processes (actors and futures), by state.",
    )?;
    w.sample(
        "thread_safe_processes",
        "state=\"ready\"",
        metrics.thread_safe_ready,
    )?;
    w.sample(
        "thread_safe_processes",
        "state=\"inactive\"",
        metrics.thread_safe_inactive,
    )?;
    w.family(
        "shared_timers_pending",
        "gauge",
        "Timers pending in the shared timing wheel.",
    )?;
    w.sample("shared_timers_pending", "", metrics.shared_timers_pending)?;
    if let Some(next) = metrics.shared_next_timer {
        w.family(
            "shared_next_timer_seconds",
            "gauge",
            "Time until the first shared timer expires.",
        )?;
        w.sample("shared_next_timer_seconds", "", seconds(next))?;
    }

    let families: [(&str, &str, &str, fn(&WorkerMetrics) -> Option<f64>); 19] = [
        (
            "worker_sleeping",
            "gauge",
            "1 if the worker sleeps in the kernel.",
            |w| Some(f64::from(u8::from(w.state == WorkerState::Sleeping))),
        ),
        ("worker_stopped", "gauge", "1 if the worker stopped.", |w| {
            Some(f64::from(u8::from(w.state == WorkerState::Stopped)))
        }),
        (
            "worker_actors",
            "gauge",
            "Thread-local actors alive on the worker.",
            |w| Some(w.thread_local_actors as f64),
        ),
        (
            "worker_futures",
            "gauge",
            "Thread-local futures alive on the worker.",
            |w| Some(w.thread_local_futures as f64),
        ),
        (
            "worker_ready_processes",
            "gauge",
            "Thread-local processes ready to run.",
            |w| Some(w.ready as f64),
        ),
        (
            "worker_inactive_processes",
            "gauge",
            "Thread-local processes waiting to be woken.",
            |w| Some(w.inactive as f64),
        ),
        (
            "worker_polls_total",
            "counter",
            "Polls of thread-local processes.",
            |w| Some(w.polls as f64),
        ),
        (
            "worker_thread_safe_polls_total",
            "counter",
            "Polls of thread-safe processes on the worker.",
            |w| Some(w.thread_safe_polls as f64),
        ),
        (
            "worker_turns_total",
            "counter",
            "Turns of the worker's loop.",
            |w| Some(w.turns as f64),
        ),
        (
            "worker_messages_sent_total",
            "counter",
            "Messages sent from the worker's thread.",
            |w| Some(w.messages_sent as f64),
        ),
        (
            "worker_messages_received_total",
            "counter",
            "Messages received by actors on the worker.",
            |w| Some(w.messages_received as f64),
        ),
        (
            "worker_timers_pending",
            "gauge",
            "Timers pending in the worker's timing wheel.",
            |w| Some(w.timers_pending as f64),
        ),
        (
            "worker_timers_expired_total",
            "counter",
            "Timers of the worker that expired.",
            |w| Some(w.timers_expired as f64),
        ),
        (
            "worker_next_timer_seconds",
            "gauge",
            "Time until the worker's first timer expires.",
            |w| w.next_timer.map(seconds),
        ),
        (
            "worker_io_submitted_total",
            "counter",
            "I/O operations submitted on the worker.",
            |w| Some(w.io_submitted as f64),
        ),
        (
            "worker_io_completed_total",
            "counter",
            "I/O operations completed on the worker.",
            |w| Some(w.io_completed as f64),
        ),
        (
            "worker_io_cancelled_total",
            "counter",
            "I/O operations cancelled (dropped before they completed) on the worker.",
            |w| Some(w.io_cancelled as f64),
        ),
        (
            "worker_since_last_turn_seconds",
            "gauge",
            "Time since the worker last ended a turn.",
            |w| Some(seconds(w.since_last_turn)),
        ),
        (
            "worker_cpu_seconds_total",
            "counter",
            "CPU time of the worker's thread.",
            |w| w.cpu_time.map(seconds),
        ),
    ];
    for (name, kind, help, value) in families {
        let values: Vec<(usize, f64)> = metrics
            .workers
            .iter()
            .filter_map(|worker| Some((worker.index, value(worker)?)))
            .collect();
        if values.is_empty() {
            continue;
        }
        w.family(name, kind, help)?;
        for (index, value) in values {
            w.sample(name, &format!("worker=\"{index}\""), value)?;
        }
    }
    Ok(())
}

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

struct Writer<'a, W> {
    out: &'a mut W,
    rt: Label<'a>,
}

impl<W: Write> Writer<'_, W> {
    fn family(&mut self, name: &str, kind: &str, help: &str) -> fmt::Result {
        writeln!(self.out, "# HELP kiln_{name} {help}")?;
        writeln!(self.out, "# TYPE kiln_{name} {kind}")
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl Into<Value>) -> fmt::Result {
        let sep = if labels.is_empty() { "" } else { "," };
        writeln!(
            self.out,
            "kiln_{name}{{runtime=\"{}\"{sep}{labels}}} {}",
            self.rt,
            value.into()
        )
    }
}

/// A sample's value: integers as integers, the rest as floats.
enum Value {
    Int(u64),
    Float(f64),
}

impl From<u64> for Value {
    fn from(value: u64) -> Value {
        Value::Int(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Value {
        Value::Float(value)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(value) => write!(f, "{value}"),
            Value::Float(value) => write!(f, "{value}"),
        }
    }
}

/// A label value, escaped: `\`, `"` and newlines.
struct Label<'a>(&'a str);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}
