//! The ready processes of a [`RunQueue`](super::RunQueue), smallest virtual
//! run time first: a binary heap, with a FIFO in front of it for keys that
//! arrive in order.
//!
//! Most keys pushed are in order: a new process starts at the minimum
//! virtual run time plus the start debit, and the minimum never decreases,
//! so a burst of spawns (an actor starting a million children, skynet) pushes
//! a non-decreasing run of keys. A heap of a million entries costs each push
//! and pop about twenty levels of sifting, each a likely cache miss; a FIFO
//! costs one store and one load. So a key not below the FIFO's last goes to
//! the back of the FIFO, any other into the heap, and a pop takes the smaller
//! of the FIFO's front and the heap's top. The FIFO is sorted, so the pop
//! order is the same as with the heap alone (ties aside, which have no
//! promised order).
//!
//! In front of both sits one entry, `only`, used when it is the only ready
//! one: an actor that wakes the next (a ping-pong, an RPC, a message passed
//! along a chain) makes one process ready at a time, which then goes in and
//! out of a field rather than a `VecDeque` (callgrind, `kiln-bench --quick
//! --only W1a`: a push and a pop were about 45 instructions a poll, of
//! some 250 for the worker's loop). A second push moves it to the FIFO
//! first, so the order is the same.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// `(virtual run time, slot index)` of ready processes.
pub(super) type Entry = (u64, u32);

/// Ready entries, popped smallest first. See the [module docs](self).
#[derive(Debug, Default)]
pub(super) struct ReadyQueue {
    /// The only ready entry: set only while `in_order` and `heap` are empty.
    only: Option<Entry>,
    /// Keys in non-decreasing order.
    in_order: VecDeque<Entry>,
    /// The others.
    heap: BinaryHeap<Reverse<Entry>>,
}

impl ReadyQueue {
    pub(super) const fn new() -> ReadyQueue {
        ReadyQueue {
            only: None,
            in_order: VecDeque::new(),
            heap: BinaryHeap::new(),
        }
    }

    #[inline]
    pub(super) fn push(&mut self, entry: Entry) {
        if self.in_order.is_empty() && self.heap.is_empty() {
            match self.only.replace(entry) {
                None => return,
                // A second entry: both go to the FIFO and the heap.
                Some(only) => {
                    self.only = None;
                    self.in_order.push_back(only);
                }
            }
        }
        self.push_queued(entry);
    }

    /// Pushes onto the FIFO or the heap.
    fn push_queued(&mut self, entry: Entry) {
        match self.in_order.back() {
            Some(last) if entry.0 < last.0 => self.heap.push(Reverse(entry)),
            _ => self.in_order.push_back(entry),
        }
    }

    #[inline]
    pub(super) fn pop(&mut self) -> Option<Entry> {
        if let Some(only) = self.only.take() {
            return Some(only);
        }
        self.pop_queued()
    }

    /// The entry [`ReadyQueue::pop`] would return, left in the queue.
    #[inline]
    pub(super) fn peek(&self) -> Option<Entry> {
        if self.only.is_some() {
            return self.only;
        }
        match (self.in_order.front(), self.heap.peek()) {
            (Some(first), Some(Reverse(top))) if top.0 < first.0 => Some(*top),
            (Some(first), _) => Some(*first),
            (None, top) => top.map(|Reverse(entry)| *entry),
        }
    }

    /// Pops from the FIFO or the heap.
    fn pop_queued(&mut self) -> Option<Entry> {
        match (self.in_order.front(), self.heap.peek()) {
            (Some(first), Some(Reverse(top))) if top.0 < first.0 => {
                self.heap.pop().map(|Reverse(entry)| entry)
            }
            (Some(_), _) => self.in_order.pop_front(),
            (None, _) => self.heap.pop().map(|Reverse(entry)| entry),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.only.is_none() && self.in_order.is_empty() && self.heap.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        usize::from(self.only.is_some()) + self.in_order.len() + self.heap.len()
    }

    /// Entries the queue has room for without growing.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.in_order.capacity() + self.heap.capacity()
    }

    pub(super) fn clear(&mut self) {
        self.only = None;
        self.in_order.clear();
        self.heap.clear();
    }

    /// Gives back memory beyond `keep` entries each, once empty and grown
    /// past twice that (a burst of that many ready processes costs far more
    /// than growing again).
    pub(super) fn shrink_if_empty(&mut self, keep: usize) {
        if !self.is_empty() {
            return;
        }
        if self.in_order.capacity() > 2 * keep {
            self.in_order.shrink_to(keep);
        }
        if self.heap.capacity() > 2 * keep {
            self.heap.shrink_to(keep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ReadyQueue;

    /// A small deterministic generator (xorshift), so the test needs no
    /// dependency and fails the same way every time.
    fn next(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn pops_in_key_order_whatever_the_push_order() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for round in 0..200 {
            let mut queue = ReadyQueue::new();
            let mut model: Vec<(u64, u32)> = Vec::new();
            let mut base = 0;
            for index in 0..500 {
                let r = next(&mut seed);
                // Mostly rising keys (spawns), some anywhere (wake-ups);
                // pops in between.
                let key = if r.is_multiple_of(4) {
                    r % 1_000
                } else {
                    base + r % 8
                };
                base = key.max(base);
                queue.push((key, index));
                model.push((key, index));
                if next(&mut seed).is_multiple_of(3) {
                    let peeked = queue.peek();
                    let popped = queue.pop().unwrap();
                    assert_eq!(peeked, Some(popped), "round {round}: peek and pop differ");
                    let min = model.iter().map(|e| e.0).min().unwrap();
                    assert_eq!(popped.0, min, "round {round}");
                    let at = model.iter().position(|e| *e == popped).unwrap();
                    model.swap_remove(at);
                }
                assert_eq!(queue.len(), model.len());
            }
            let mut last = 0;
            while let Some(peeked) = queue.peek() {
                let (key, _) = queue.pop().unwrap();
                assert_eq!(peeked.0, key, "round {round}: peek and pop differ");
                assert!(key >= last, "round {round}: {key} after {last}");
                last = key;
            }
            assert!(queue.is_empty());
        }
    }

    #[test]
    fn the_only_entry_skips_both() {
        let mut queue = ReadyQueue::new();
        queue.push((5, 1));
        assert!(queue.in_order.is_empty() && queue.heap.is_empty());
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.peek(), Some((5, 1)));
        assert_eq!(queue.pop(), Some((5, 1)));
        assert!(queue.is_empty());
        // A second entry, smaller: both queued, popped in order.
        queue.push((5, 1));
        queue.push((3, 2));
        assert!(queue.only.is_none());
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop(), Some((3, 2)));
        // One left, queued: a new push goes behind (or before) it as usual.
        queue.push((4, 3));
        assert_eq!(queue.pop(), Some((4, 3)));
        assert_eq!(queue.pop(), Some((5, 1)));
        assert_eq!(queue.pop(), None);
        queue.push((9, 4));
        queue.clear();
        assert!(queue.is_empty() && queue.pop().is_none());
    }

    #[test]
    fn in_order_keys_skip_the_heap() {
        let mut queue = ReadyQueue::new();
        for key in 0..1_000 {
            queue.push((key, key as u32));
        }
        assert!(queue.heap.is_empty());
        queue.push((5, 5_000));
        assert_eq!(queue.heap.len(), 1);
        let order: Vec<u64> = std::iter::from_fn(|| queue.pop()).map(|e| e.0).collect();
        assert_eq!(order.len(), 1_001);
        assert!(order.is_sorted());
    }
}
