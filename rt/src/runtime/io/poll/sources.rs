//! [`Sources`]: the descriptors registered with one poll instance, by
//! token, so that an event finds the [`Readiness`] of its descriptor.
//!
//! A token is a slot index and a generation: a slot is reused once its
//! descriptor is deregistered, and an event for the old descriptor that
//! was already returned by `epoll_wait` (on the coordinator, while a worker
//! drops a thread-safe actor's socket) names the old generation and is
//! ignored. Generations come from one counter of the whole table, so a slot
//! made again after the table shrank never repeats a token either (until
//! the 31-bit counter wraps, after two billion registrations).
//!
//! # Memory after a peak
//!
//! A server that held thousands of connections at once must not keep their
//! slots for ever (`kiln-stress tcp_abuse` checks the heap returns): free
//! slots are reused lowest index first, so the registered descriptors stay
//! at the front, and when the last slot is freed the free slots at the end
//! are dropped, and the table's capacity cut to twice its length once it is
//! a quarter full.
//! Registering and deregistering cost a `BTreeSet` operation each (per
//! connection, never per I/O operation).

use std::collections::BTreeSet;
use std::sync::Arc;

use mio::Token;

use crate::runtime::io::poll::readiness::Readiness;

/// The token of the poll's own waker; no slot has it.
pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

/// Capacity the table keeps however empty it gets.
const MIN_CAPACITY: usize = 64;

/// Registered descriptors by slot; see the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Sources {
    slots: Vec<Slot>,
    /// Free slot indices, all below `slots.len()`.
    free: BTreeSet<u32>,
    /// The generation of the next registration.
    next_generation: u32,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    readiness: Option<Arc<Readiness>>,
}

impl Sources {
    /// Adds a descriptor's readiness; returns its token.
    pub(crate) fn insert(&mut self, readiness: Arc<Readiness>) -> Token {
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1) & GENERATION_MASK;
        let slot = Slot {
            generation,
            readiness: Some(readiness),
        };
        let index = match self.free.pop_first() {
            Some(index) => {
                self.slots[index as usize] = slot;
                index
            }
            None => {
                let index = u32::try_from(self.slots.len()).expect("more than 2^32 descriptors");
                self.slots.push(slot);
                index
            }
        };
        token(index, generation)
    }

    /// The readiness of the descriptor with `token`, if it is still
    /// registered.
    pub(crate) fn get(&self, token: Token) -> Option<&Arc<Readiness>> {
        let (index, generation) = untoken(token);
        let slot = self.slots.get(index as usize)?;
        if slot.generation == generation {
            slot.readiness.as_ref()
        } else {
            None
        }
    }

    /// Removes the descriptor with `token`; its slot's next token differs.
    pub(crate) fn remove(&mut self, token: Token) {
        let (index, generation) = untoken(token);
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        if slot.generation != generation || slot.readiness.is_none() {
            return;
        }
        slot.readiness = None;
        self.free.insert(index);
        if index as usize + 1 == self.slots.len() {
            self.shrink();
        }
    }

    /// Drops the free slots at the end, and capacity the table no longer
    /// needs; see the [module docs](self).
    fn shrink(&mut self) {
        while let Some(last) = self.slots.last()
            && last.readiness.is_none()
        {
            let index = self.slots.len() - 1;
            self.free.remove(&(index as u32));
            self.slots.pop();
        }
        let capacity = self.slots.capacity();
        if capacity > MIN_CAPACITY && self.slots.len() < capacity / 4 {
            self.slots
                .shrink_to((self.slots.len() * 2).max(MIN_CAPACITY));
        }
    }

    /// Number of registered descriptors.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

/// Generations use 31 bits, so no token is [`WAKE_TOKEN`].
const GENERATION_MASK: u32 = u32::MAX >> 1;

fn token(index: u32, generation: u32) -> Token {
    Token(((generation as usize) << 32) | index as usize)
}

fn untoken(token: Token) -> (u32, u32) {
    (token.0 as u32, (token.0 >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{MIN_CAPACITY, Sources, WAKE_TOKEN};
    use crate::runtime::io::poll::readiness::Readiness;

    #[test]
    fn a_reused_slot_ignores_the_old_token() {
        let mut sources = Sources::default();
        let first = sources.insert(Arc::new(Readiness::default()));
        let _keep = sources.insert(Arc::new(Readiness::default()));
        assert!(sources.get(first).is_some());
        sources.remove(first);
        assert!(sources.get(first).is_none());
        let second = sources.insert(Arc::new(Readiness::default()));
        assert_ne!(first, second, "the slot is reused with a new generation");
        assert!(sources.get(first).is_none());
        assert!(sources.get(second).is_some());
        assert_eq!(sources.len(), 2);
        // Removing with the stale token does nothing.
        sources.remove(first);
        assert!(sources.get(second).is_some());
        assert!(sources.get(WAKE_TOKEN).is_none());
    }

    #[test]
    fn the_table_gives_its_memory_back_after_a_peak() {
        let mut sources = Sources::default();
        let tokens: Vec<_> = (0..10_000)
            .map(|_| sources.insert(Arc::new(Readiness::default())))
            .collect();
        let peak = sources.slots.capacity();
        // All but the first go, the one in the last slot last.
        for token in &tokens[1..tokens.len() - 1] {
            sources.remove(*token);
        }
        sources.remove(tokens[tokens.len() - 1]);
        assert_eq!(sources.len(), 1);
        assert!(
            sources.slots.len() == 1 && sources.slots.capacity() < peak / 8,
            "{} slots of capacity {} kept (peak {peak})",
            sources.slots.len(),
            sources.slots.capacity()
        );
        assert!(sources.slots.capacity() >= MIN_CAPACITY.min(peak));
        assert!(
            sources.free.is_empty(),
            "{} free slots kept",
            sources.free.len()
        );
        // A slot made again never repeats an old token.
        let again = sources.insert(Arc::new(Readiness::default()));
        assert!(!tokens.contains(&again));
        assert!(sources.get(tokens[1]).is_none());
    }
}
