//! The Chrome Trace Event format (JSON object form), which Perfetto
//! (<https://ui.perfetto.dev>) and `chrome://tracing` open; see
//! <https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU>.
//!
//! Layout:
//! - process 1, "kiln runtime": a track per recording thread (each worker,
//!   the coordinator, each synchronous actor's thread), with its polls
//!   (named after the actor), scheduling batches, spins, sleeps and ring
//!   polls as complete (`X`) events, and timer expiries, wake-all and
//!   signals as instant (`i`) events;
//! - process 2, "actors": a track per actor that recorded user events,
//!   named `<name> <id>`, with those events; their attributes are the
//!   event's `args`.
//!
//! Every poll and user event has the args `actor` (name) and `actor_id`
//! (see [`actor_id`]). Times are microseconds with nanosecond decimals.

use std::io::{self, Write};

use kiln_rt::trace::{Attribute, Event, Recording, ThreadKind};

use crate::model::{Model, actor_id};

/// Writes `recording` as Chrome Trace Event JSON to `out`.
pub(crate) fn write(recording: &Recording, out: &mut dyn Write) -> io::Result<()> {
    let model = Model::new(recording);
    let mut w = JsonEvents { out, first: true };
    writeln!(w.out, "{{\"displayTimeUnit\":\"ns\",")?;
    writeln!(
        w.out,
        "\"otherData\":{{\"start_unix_nanos\":\"{}\",\"converter\":\"kiln-trace\"}},",
        recording.start_unix_nanos
    )?;
    writeln!(w.out, "\"traceEvents\":[")?;
    w.event(
        "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":\"kiln runtime\"}}",
    )?;
    w.event(
        "{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":1,\"args\":{\"sort_index\":1}}",
    )?;
    w.event("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":2,\"args\":{\"name\":\"actors\"}}")?;
    w.event(
        "{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":2,\"args\":{\"sort_index\":2}}",
    )?;

    for (i, thread) in recording.threads.iter().enumerate() {
        let tid = i + 1;
        let sort = match thread.kind {
            ThreadKind::Worker(index) => index,
            ThreadKind::Coordinator => 10_000,
            _ => 20_000 + i,
        };
        w.event(&format!(
            "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":{tid},\"args\":{{\"name\":{}}}}}",
            string(&thread.name)
        ))?;
        w.event(&format!(
            "{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":1,\"tid\":{tid},\"args\":{{\"sort_index\":{sort}}}}}"
        ))?;
        for event in &thread.events {
            if let Some(json) = runtime_event(event, tid) {
                w.event(&json)?;
            }
        }
    }

    // Actors' own tracks, numbered in the order the actors first appear.
    for (track, actor) in model.actors_with_user_events().into_iter().enumerate() {
        let tid = track + 1;
        let name = model.name(actor);
        w.event(&format!(
            "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":2,\"tid\":{tid},\"args\":{{\"name\":{}}}}}",
            string(&format!("{name} {}", actor_id(actor)))
        ))?;
        for event in model.user_events(actor) {
            let Event::User {
                description,
                attributes,
                start,
                end,
                ..
            } = event
            else {
                continue;
            };
            let mut args = format!(
                "\"actor\":{},\"actor_id\":{}",
                string(name),
                string(&actor_id(actor))
            );
            for (key, value) in attributes {
                args.push(',');
                args.push_str(&string(key));
                args.push(':');
                args.push_str(&attribute(value));
            }
            w.event(&format!(
                "{{\"ph\":\"X\",\"cat\":\"user\",\"name\":{},\"pid\":2,\"tid\":{tid},\"ts\":{},\"dur\":{},\"args\":{{{args}}}}}",
                string(description),
                micros(*start),
                micros(end.saturating_sub(*start)),
            ))?;
        }
    }
    writeln!(w.out, "\n]}}")
}

/// An event of a runtime thread's track, or `None` for events that only
/// name things.
fn runtime_event(event: &Event, tid: usize) -> Option<String> {
    let span = |cat: &str, name: &str, start: u64, end: u64, args: String| {
        format!(
            "{{\"ph\":\"X\",\"cat\":\"{cat}\",\"name\":{},\"pid\":1,\"tid\":{tid},\"ts\":{},\"dur\":{},\"args\":{{{args}}}}}",
            string(name),
            micros(start),
            micros(end.saturating_sub(start)),
        )
    };
    let instant = |cat: &str, name: &str, time: u64, args: String| {
        format!(
            "{{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"{cat}\",\"name\":{},\"pid\":1,\"tid\":{tid},\"ts\":{},\"args\":{{{args}}}}}",
            string(name),
            micros(time),
        )
    };
    Some(match event {
        Event::Poll {
            actor,
            name,
            thread_safe,
            done,
            start,
            end,
        } => span(
            "poll",
            name,
            *start,
            *end,
            format!(
                "\"actor\":{},\"actor_id\":{},\"kind\":\"{}\",\"done\":{done}",
                string(name),
                string(&actor_id(*actor)),
                if *thread_safe {
                    "thread-safe"
                } else {
                    "thread-local"
                },
            ),
        ),
        Event::Run {
            thread_safe,
            ended,
            runs,
            start,
            end,
        } => span(
            "scheduler",
            if *thread_safe {
                "run thread-safe"
            } else {
                "run thread-local"
            },
            *start,
            *end,
            format!("\"runs\":{runs},\"ended\":{}", string(&ended.to_string())),
        ),
        Event::Spin {
            found_work,
            start,
            end,
        } => span(
            "scheduler",
            "spin",
            *start,
            *end,
            format!("\"found_work\":{found_work}"),
        ),
        Event::Sleep {
            timeout,
            start,
            end,
        } => span(
            "ring",
            "sleep",
            *start,
            *end,
            match timeout {
                Some(timeout) => format!("\"timeout_us\":{}", micros(*timeout)),
                None => String::new(),
            },
        ),
        Event::RingPoll { start, end } => span("ring", "ring poll", *start, *end, String::new()),
        Event::TimersExpired {
            local,
            shared,
            time,
        } => instant(
            "timer",
            "timers expired",
            *time,
            format!("\"local\":{local},\"shared\":{shared}"),
        ),
        Event::WakeAll { time } => instant("scheduler", "wake all", *time, String::new()),
        Event::Signal {
            signal,
            receivers,
            time,
        } => instant(
            "signal",
            &format!("signal {}", signal_name(*signal)),
            *time,
            format!("\"signal\":{signal},\"receivers\":{receivers}"),
        ),
        _ => return None,
    })
}

/// The name of the signals the runtime handles.
fn signal_name(signal: i32) -> String {
    kiln_rt::Signal::from_raw(signal).map_or_else(|| signal.to_string(), |s| s.to_string())
}

/// Writes comma-separated events.
struct JsonEvents<'a> {
    out: &'a mut dyn Write,
    first: bool,
}

impl JsonEvents<'_> {
    fn event(&mut self, json: &str) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",\n")?;
        }
        self.first = false;
        self.out.write_all(json.as_bytes())
    }
}

/// Nanoseconds as microseconds with three decimals.
fn micros(nanos: u64) -> String {
    format!("{}.{:03}", nanos / 1000, nanos % 1000)
}

/// An attribute as a JSON value.
fn attribute(value: &Attribute) -> String {
    match value {
        Attribute::Int(v) => v.to_string(),
        Attribute::Uint(v) => v.to_string(),
        Attribute::Float(v) if v.is_finite() => format!("{v:?}"),
        Attribute::Float(v) => string(&v.to_string()),
        Attribute::Bool(v) => v.to_string(),
        Attribute::Str(v) => string(v),
        _ => string(&value.to_string()),
    }
}

/// `s` as a JSON string.
pub(crate) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::{micros, string};

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn times_are_microseconds() {
        assert_eq!(micros(0), "0.000");
        assert_eq!(micros(1_234_567), "1234.567");
    }
}
