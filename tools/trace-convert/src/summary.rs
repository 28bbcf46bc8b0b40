//! A text summary of a trace: per thread, how its time went; per actor, its
//! polls and user events.

use std::collections::HashMap;
use std::io::{self, Write};

use kiln_rt::trace::{Event, Recording};

use crate::model::{Model, actor_id};

/// Per actor: polls, total and longest poll time (ns), user events.
#[derive(Default)]
struct ActorStats {
    polls: u64,
    total: u64,
    longest: u64,
    user_events: u64,
}

/// Writes the summary of `recording` to `out`.
pub(crate) fn write(recording: &Recording, out: &mut dyn Write) -> io::Result<()> {
    let model = Model::new(recording);
    let mut actors: HashMap<u64, ActorStats> = HashMap::new();
    writeln!(out, "threads:")?;
    for thread in &recording.threads {
        let (mut polls, mut busy, mut sleeping, mut sleeps) = (0u64, 0u64, 0u64, 0u64);
        let mut timers = 0u64;
        for event in &thread.events {
            match event {
                Event::Poll {
                    actor, start, end, ..
                } => {
                    let took = end.saturating_sub(*start);
                    polls += 1;
                    busy += took;
                    let stats = actors.entry(*actor).or_default();
                    stats.polls += 1;
                    stats.total += took;
                    stats.longest = stats.longest.max(took);
                }
                Event::Sleep { start, end, .. } => {
                    sleeps += 1;
                    sleeping += end.saturating_sub(*start);
                }
                Event::TimersExpired { local, shared, .. } => {
                    timers += u64::from(*local) + shared;
                }
                Event::User { actor, .. } => actors.entry(*actor).or_default().user_events += 1,
                _ => {}
            }
        }
        writeln!(
            out,
            "  {:<32} {polls:>9} polls ({}), {sleeps:>7} sleeps ({}), {timers} timers expired, {} events",
            thread.name,
            ms(busy),
            ms(sleeping),
            thread.events.len(),
        )?;
    }
    let mut by_time: Vec<(u64, ActorStats)> = actors.into_iter().collect();
    by_time.sort_by(|a, b| b.1.total.cmp(&a.1.total).then(a.0.cmp(&b.0)));
    writeln!(out, "actors (by time polled):")?;
    for (actor, stats) in by_time {
        writeln!(
            out,
            "  {:<24} {:<12} {:>9} polls, {} in all, longest {}, {} user events",
            model.name(actor),
            actor_id(actor),
            stats.polls,
            ms(stats.total),
            ms(stats.longest),
            stats.user_events,
        )?;
    }
    Ok(())
}

/// Nanoseconds as milliseconds.
fn ms(nanos: u64) -> String {
    format!("{:.3} ms", nanos as f64 / 1e6)
}
