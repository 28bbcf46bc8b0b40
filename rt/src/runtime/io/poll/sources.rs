//! [`Sources`]: the descriptors registered with one poll instance, by
//! token, so that an event finds the [`Readiness`] of its descriptor.
//!
//! A token is a slot index and the slot's generation: a slot is reused once
//! its descriptor is deregistered, and an event for the old descriptor that
//! was already returned by `epoll_wait` (on the coordinator, while a worker
//! drops a thread-safe actor's socket) names the old generation and is
//! ignored.

use std::sync::Arc;

use mio::Token;

use crate::runtime::io::poll::readiness::Readiness;

/// The token of the poll's own waker; no slot has it.
pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

/// Registered descriptors by slot; see the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Sources {
    slots: Vec<Slot>,
    /// Free slot indices.
    free: Vec<u32>,
}

#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    readiness: Option<Arc<Readiness>>,
}

impl Sources {
    /// Adds a descriptor's readiness; returns its token.
    pub(crate) fn insert(&mut self, readiness: Arc<Readiness>) -> Token {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.slots.len()).expect("more than 2^32 descriptors");
                self.slots.push(Slot::default());
                index
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.readiness = Some(readiness);
        token(index, slot.generation)
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
        if let Some(slot) = self.slots.get_mut(index as usize)
            && slot.generation == generation
        {
            slot.readiness = None;
            slot.generation = slot.generation.wrapping_add(1) & GENERATION_MASK;
            self.free.push(index);
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

    use super::{Sources, WAKE_TOKEN};
    use crate::runtime::io::poll::readiness::Readiness;

    #[test]
    fn a_reused_slot_ignores_the_old_token() {
        let mut sources = Sources::default();
        let first = sources.insert(Arc::new(Readiness::default()));
        assert!(sources.get(first).is_some());
        sources.remove(first);
        assert!(sources.get(first).is_none());
        let second = sources.insert(Arc::new(Readiness::default()));
        assert_ne!(first, second, "the slot is reused with a new generation");
        assert!(sources.get(first).is_none());
        assert!(sources.get(second).is_some());
        assert_eq!(sources.len(), 1);
        // Removing with the stale token does nothing.
        sources.remove(first);
        assert!(sources.get(second).is_some());
        assert!(sources.get(WAKE_TOKEN).is_none());
    }
}
