//! An SVG timeline of a trace, for a quick look without Perfetto (or to put
//! a picture of a trace in a document).
//!
//! One row per recording thread (workers, coordinator, synchronous actors'
//! threads) shows its polls as boxes coloured and labelled by actor name,
//! scheduling batches as a thin bar above them, sleeps, spins and ring polls
//! as pale boxes, and timer expiries (▼) and signals (◆) as marks. Below,
//! one row per actor that recorded user events shows them, nested events
//! stacked under the events that contain them.

use std::fmt::Write as _;
use std::io::{self, Write};

use kiln_rt::trace::{Event, Recording};

use crate::model::{Model, actor_id};

/// What part of the trace to draw, and how wide.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// Start of the window, ns since the trace started (`None`: the first
    /// event).
    pub(crate) from: Option<u64>,
    /// End of the window (`None`: the last event).
    pub(crate) to: Option<u64>,
    /// Width of the picture in pixels.
    pub(crate) width: f64,
    /// A title line.
    pub(crate) title: String,
}

const LABELS: f64 = 230.0;
const ROW: f64 = 34.0;
const USER_ROW: f64 = 16.0;
const TOP: f64 = 58.0;
const FONT: &str = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";

/// Writes the timeline of `recording` as SVG to `out`.
pub(crate) fn write(
    recording: &Recording,
    options: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    let model = Model::new(recording);
    let (first, last) = bounds(recording);
    let from = options.from.unwrap_or(first);
    let to = options.to.unwrap_or(last).max(from + 1);
    let plot = options.width - LABELS - 40.0;
    let x = |t: u64| {
        LABELS + (t.saturating_sub(from) as f64).min((to - from) as f64) * plot / (to - from) as f64
    };
    let visible = |start: u64, end: u64| end >= from && start <= to;

    // Rows of user events, of the actors with events in the window: an
    // actor's nested events stack downwards.
    let actors = model.actors_with_user_events();
    let mut user_rows = Vec::new();
    for &actor in &actors {
        let shown = model
            .user_events(actor)
            .iter()
            .any(|event| matches!(event, Event::User { start, end, .. } if visible(*start, *end)));
        if !shown {
            continue;
        }
        let mut depths = Vec::new();
        let mut open: Vec<u64> = Vec::new(); // ends of the enclosing events
        for event in model.user_events(actor) {
            let Event::User { start, end, .. } = event else {
                continue;
            };
            while open.last().is_some_and(|&e| e <= *start) {
                open.pop();
            }
            depths.push(open.len());
            open.push(*end);
        }
        let rows = depths.iter().max().map_or(1, |d| d + 1);
        user_rows.push((actor, depths, rows));
    }
    let threads_height = recording.threads.len() as f64 * ROW;
    let users_height: f64 = user_rows
        .iter()
        .map(|(_, _, rows)| *rows as f64 * USER_ROW + 10.0)
        .sum();
    let height = TOP + threads_height + 24.0 + users_height + 60.0;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\">",
        w = options.width
    );
    let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        svg,
        "<text x=\"10\" y=\"22\" {FONT} font-size=\"15\" font-weight=\"bold\">{}</text>",
        escape(&options.title)
    );
    axis(&mut svg, from, to, &x, height - 60.0);

    // Thread rows.
    for (i, thread) in recording.threads.iter().enumerate() {
        let top = TOP + i as f64 * ROW;
        if i % 2 == 0 {
            let _ = writeln!(
                svg,
                "<rect x=\"0\" y=\"{top}\" width=\"{}\" height=\"{ROW}\" fill=\"#f6f7f9\"/>",
                options.width
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"10\" y=\"{}\" {FONT} font-size=\"12\">{}</text>",
            top + ROW / 2.0 + 4.0,
            escape(&thread.name)
        );
        let mut last_tiny = f64::MIN;
        for event in &thread.events {
            match event {
                // Thin bars: the worker is not running actors.
                Event::Sleep { start, end, .. } if visible(*start, *end) => {
                    rect(
                        &mut svg,
                        x(*start),
                        x(*end),
                        top + 15.0,
                        8.0,
                        "#d5d9df",
                        None,
                    );
                }
                Event::Spin { start, end, .. } if visible(*start, *end) => {
                    rect(
                        &mut svg,
                        x(*start),
                        x(*end),
                        top + 15.0,
                        8.0,
                        "#f5d77a",
                        None,
                    );
                }
                Event::RingPoll { start, end } if visible(*start, *end) => {
                    rect(
                        &mut svg,
                        x(*start),
                        x(*end),
                        top + 13.0,
                        12.0,
                        "#f4a259",
                        None,
                    );
                }
                Event::Run { start, end, .. } if visible(*start, *end) => {
                    rect(
                        &mut svg,
                        x(*start),
                        x(*end),
                        top + 3.0,
                        3.0,
                        "#5b6c8f",
                        None,
                    );
                }
                Event::Poll {
                    actor,
                    name,
                    start,
                    end,
                    ..
                } if visible(*start, *end) => {
                    let (x0, x1) = (x(*start), x(*end));
                    if x1 - x0 < 0.4 {
                        // Too narrow to tell apart: one mark per pixel.
                        if x0 < last_tiny + 1.0 {
                            continue;
                        }
                        last_tiny = x0;
                    }
                    let label = format!("{name} {}", actor_id(*actor));
                    rect(
                        &mut svg,
                        x0,
                        x1,
                        top + 8.0,
                        ROW - 12.0,
                        &colour(name),
                        Some(&label),
                    );
                }
                Event::TimersExpired { time, .. } if visible(*time, *time) => {
                    let (cx, y) = (x(*time), top + ROW - 2.0);
                    let _ = writeln!(
                        svg,
                        "<path d=\"M{} {} L{} {} L{cx} {y} Z\" fill=\"#2a9d8f\"/>",
                        cx - 4.0,
                        y - 6.0,
                        cx + 4.0,
                        y - 6.0
                    );
                }
                Event::Signal { time, .. } if visible(*time, *time) => {
                    let (cx, cy) = (x(*time), top + ROW / 2.0);
                    let _ = writeln!(
                        svg,
                        "<path d=\"M{cx} {} L{} {cy} L{cx} {} L{} {cy} Z\" fill=\"#d62828\"/>",
                        cy - 7.0,
                        cx + 5.0,
                        cy + 7.0,
                        cx - 5.0
                    );
                }
                _ => {}
            }
        }
    }

    // Actor rows.
    let mut top = TOP + threads_height + 24.0;
    if !user_rows.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"10\" y=\"{}\" {FONT} font-size=\"12\" font-weight=\"bold\">user events</text>",
            top - 8.0
        );
    }
    for (actor, depths, rows) in &user_rows {
        let name = model.name(*actor);
        let _ = writeln!(
            svg,
            "<text x=\"10\" y=\"{}\" {FONT} font-size=\"11\">{} {}</text>",
            top + USER_ROW - 4.0,
            escape(name),
            actor_id(*actor)
        );
        for (event, depth) in model.user_events(*actor).iter().zip(depths) {
            let Event::User {
                description,
                start,
                end,
                ..
            } = event
            else {
                continue;
            };
            if visible(*start, *end) {
                let y = top + *depth as f64 * USER_ROW;
                rect(
                    &mut svg,
                    x(*start),
                    x(*end),
                    y + 1.0,
                    USER_ROW - 2.0,
                    &colour(description),
                    Some(description),
                );
            }
        }
        top += *rows as f64 * USER_ROW + 10.0;
    }

    legend(&mut svg, height - 22.0);
    svg.push_str("</svg>\n");
    out.write_all(svg.as_bytes())
}

/// The first and last time in the trace.
fn bounds(recording: &Recording) -> (u64, u64) {
    let mut first = u64::MAX;
    let mut last = 0;
    for event in recording.threads.iter().flat_map(|t| &t.events) {
        let (start, end) = match event {
            Event::Poll { start, end, .. }
            | Event::Run { start, end, .. }
            | Event::Spin { start, end, .. }
            | Event::Sleep { start, end, .. }
            | Event::RingPoll { start, end }
            | Event::User { start, end, .. } => (*start, *end),
            Event::TimersExpired { time, .. }
            | Event::WakeAll { time }
            | Event::Signal { time, .. } => (*time, *time),
            _ => continue,
        };
        first = first.min(start);
        last = last.max(end);
    }
    if first > last { (0, 1) } else { (first, last) }
}

/// A box from `x0` to `x1`, with `label` inside if it fits.
fn rect(svg: &mut String, x0: f64, x1: f64, y: f64, h: f64, fill: &str, label: Option<&str>) {
    let w = (x1 - x0).max(0.4);
    let _ = write!(
        svg,
        "<rect x=\"{x0:.2}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{h:.1}\" fill=\"{fill}\""
    );
    if label.is_some() {
        svg.push_str(" stroke=\"white\" stroke-width=\"0.5\"");
    }
    svg.push_str("/>\n");
    if let Some(label) = label {
        let chars = ((w - 4.0) / 6.2).floor();
        if chars >= 3.0 {
            let text: String = if label.chars().count() as f64 <= chars {
                label.to_owned()
            } else {
                let keep = (chars as usize).saturating_sub(1);
                label.chars().take(keep).chain(['…']).collect()
            };
            let _ = writeln!(
                svg,
                "<text x=\"{:.2}\" y=\"{:.1}\" {FONT} font-size=\"10.5\" fill=\"#111\">{}</text>",
                x0 + 2.5,
                y + h / 2.0 + 3.8,
                escape(&text)
            );
        }
    }
}

/// The time axis: a line with ticks at round intervals.
fn axis(svg: &mut String, from: u64, to: u64, x: &impl Fn(u64) -> f64, y: f64) {
    let span = (to - from) as f64;
    let raw = span / 8.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
        .max(1.0);
    let _ = writeln!(
        svg,
        "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#333\"/>",
        x(from),
        x(to)
    );
    let mut tick = (from as f64 / step).ceil() * step;
    while tick <= to as f64 {
        let tx = x(tick as u64);
        let _ = writeln!(
            svg,
            "<line x1=\"{tx:.2}\" y1=\"{TOP}\" x2=\"{tx:.2}\" y2=\"{}\" stroke=\"#ccd\" stroke-width=\"0.5\"/>",
            y + 5.0
        );
        let _ = writeln!(
            svg,
            "<text x=\"{tx:.2}\" y=\"{}\" {FONT} font-size=\"11\" text-anchor=\"middle\">{}</text>",
            y + 18.0,
            time_label(tick)
        );
        tick += step;
    }
}

/// Nanoseconds as a readable time.
fn time_label(nanos: f64) -> String {
    if nanos >= 1e9 {
        format!("{:.3} s", nanos / 1e9)
    } else if nanos >= 1e6 {
        format!("{:.3} ms", nanos / 1e6)
    } else if nanos >= 1e3 {
        format!("{:.1} µs", nanos / 1e3)
    } else {
        format!("{nanos:.0} ns")
    }
}

fn legend(svg: &mut String, y: f64) {
    let items = [
        ("#d5d9df", "sleep (ring poll with timeout)"),
        ("#f5d77a", "spin"),
        ("#f4a259", "busy ring poll"),
        ("#5b6c8f", "scheduling batch"),
        ("#2a9d8f", "▼ timers expired"),
        ("#d62828", "◆ signal"),
    ];
    let mut x = 10.0;
    let _ = writeln!(
        svg,
        "<text x=\"{x}\" y=\"{}\" {FONT} font-size=\"11\">polls are coloured by actor;</text>",
        y + 10.0
    );
    x += 170.0;
    for (fill, label) in items {
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"{fill}\"/><text x=\"{}\" y=\"{}\" {FONT} font-size=\"11\">{}</text>",
            x + 16.0,
            y + 10.0,
            escape(label)
        );
        x += 30.0 + label.chars().count() as f64 * 6.3;
    }
}

/// A colour for `name`: a hue from its hash, pastel.
fn colour(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let hue = hash % 360;
    let lightness = 62 + (hash >> 16) % 14;
    format!("hsl({hue},62%,{lightness}%)")
}

/// `text` escaped for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
