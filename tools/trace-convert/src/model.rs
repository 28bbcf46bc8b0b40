//! What the outputs share: actors' names and user events, gathered from
//! all threads of a [`Recording`].

use std::collections::HashMap;

use kiln_rt::trace::{Event, Recording};

/// Actors' names (from their polls, or a synchronous actor's `Actor`
/// event) and user events, by actor id.
pub(crate) struct Model<'r> {
    names: HashMap<u64, &'r str>,
    /// User events by actor, and the actors in the order of their first
    /// user event.
    user: HashMap<u64, Vec<&'r Event>>,
    order: Vec<u64>,
}

impl<'r> Model<'r> {
    pub(crate) fn new(recording: &'r Recording) -> Model<'r> {
        let mut model = Model {
            names: HashMap::new(),
            user: HashMap::new(),
            order: Vec::new(),
        };
        let mut user: Vec<(u64, &Event)> = Vec::new();
        for thread in &recording.threads {
            for event in &thread.events {
                match event {
                    Event::Poll { actor, name, .. } | Event::Actor { actor, name } => {
                        model.names.entry(*actor).or_insert(name);
                    }
                    Event::User { start, .. } => user.push((*start, event)),
                    _ => {}
                }
            }
        }
        user.sort_by_key(|(start, _)| *start);
        for (_, event) in user {
            let Event::User { actor, .. } = event else {
                continue;
            };
            model
                .user
                .entry(*actor)
                .or_insert_with(|| {
                    model.order.push(*actor);
                    Vec::new()
                })
                .push(event);
        }
        model
    }

    /// The name of `actor`, `?` if unknown (an event made outside an actor).
    pub(crate) fn name(&self, actor: u64) -> &'r str {
        if actor == 0 {
            return "(no actor)";
        }
        self.names.get(&actor).copied().unwrap_or("?")
    }

    /// The actors that recorded user events, in the order of their first.
    pub(crate) fn actors_with_user_events(&self) -> Vec<u64> {
        self.order.clone()
    }

    /// The user events of `actor`, by start time.
    pub(crate) fn user_events(&self, actor: u64) -> &[&'r Event] {
        self.user.get(&actor).map_or(&[], Vec::as_slice)
    }
}

/// An actor id as text: `<scheduler>.<slot>.<generation>` for processes of
/// a worker's or the shared scheduler (its waker id), `sync.<n>` for
/// synchronous actors (see `kiln_rt::trace::format`).
pub(crate) fn actor_id(actor: u64) -> String {
    if actor == 0 {
        return "none".to_owned();
    }
    let Some(scheduler) = (actor >> 48).checked_sub(1) else {
        return format!("sync.{}", actor & 0xFFFF_FFFF);
    };
    let generation = (actor >> 32) & 0xFFFF;
    let index = actor & 0xFFFF_FFFF;
    format!("{scheduler}.{index}.{generation}")
}

#[cfg(test)]
mod tests {
    use super::actor_id;

    #[test]
    fn actor_ids_read_as_scheduler_slot_generation() {
        assert_eq!(actor_id((4 << 48) | (2 << 32) | 7), "3.7.2");
        assert_eq!(actor_id((1 << 48) | 7), "0.7.0");
        assert_eq!(actor_id(5), "sync.5");
    }
}
