//! The per-worker timer store: a hierarchical timing wheel.
//!
//! Every worker owns one [`TimingWheel`]. The [`timer`](crate::timer) futures add, re-arm and
//! cancel entries through the runtime access (`PrivateAccess::{add_timer, update_timer,
//! remove_timer}`); the worker calls [`TimingWheel::expire`] on every turn of its loop, and blocks
//! in the kernel no longer than [`TimingWheel::next_deadline`].
//!
//! # Why a timing wheel
//!
//! This is the hierarchical timing wheel of Varghese and Lauck, "Hashed and Hierarchical Timing
//! Wheels: Data Structures for the Efficient Implementation of a Timer Facility" (SOSP 1987), in
//! the form the Linux kernel (`kernel/time/timer.c`) and tokio use: levels of 64 slots each, an
//! occupancy bitmap per level, and entries that cascade down a level as time reaches their slot.
//!
//! A binary heap costs O(log n) per add and either O(n) per cancel or tombstones that keep
//! cancelled timers' memory alive until they would have fired. Most runtime timers are timeouts
//! that are cancelled long before they fire, so cancellation must be cheap. Here:
//!
//! * [`add`](TimingWheel::add) and [`remove`](TimingWheel::remove) are O(1): an entry lives in a
//!   slab and is linked into one intrusive doubly linked list (a slot), so removing it is an unlink
//!   and a push onto the slab's free list;
//! * [`next_deadline`](TimingWheel::next_deadline) is O(levels): a `trailing_zeros` per level;
//! * [`expire`](TimingWheel::expire) does O(1) work per timer woken, plus a sort of the timers
//!   due in that call (to wake them in deadline order), plus at most one move per level for each
//!   timer as it cascades down (four at most; a timer already due when its slot comes up is
//!   taken straight from there);
//! * a pending timer costs one slab entry (see *Memory* below) and nothing else.
//!
//! # Levels and resolution
//!
//! Time is counted in ticks of one millisecond since the wheel was created (`origin`). A deadline
//! tick has five 6-bit digits; level *L* has 64 slots of 64<sup>*L*</sup> ticks each:
//!
//! | level | slot width | level span |
//! |-------|------------|------------|
//! | 0     | 1 ms       | 64 ms      |
//! | 1     | 64 ms      | ~4.1 s     |
//! | 2     | ~4.1 s     | ~4.4 min   |
//! | 3     | ~4.4 min   | ~4.7 h     |
//! | 4     | ~4.7 h     | ~12.4 days |
//!
//! An entry is filed at the level of the highest digit in which its deadline tick differs from
//! the wheel's current tick (`elapsed`), in the slot named by that digit; so every entry at level
//! *L* is due before every entry at level *L* + 1, and the first occupied slot of the lowest
//! non-empty level holds the earliest deadline. When `elapsed` reaches the start of a slot at
//! level 1 or above, its entries are filed again, which puts them at a lower level (a cascade).
//! A deadline in a later 2<sup>30</sup> ms (~12.4 day) block than `elapsed` waits in an overflow
//! list, which is filed again whenever `elapsed` enters a new block. That is any deadline more
//! than ~12.4 days ahead, and a nearer one only when the current block is about to end.
//!
//! The millisecond only decides where an entry is kept. Each entry stores its exact `Instant`, and
//! `expire` compares it with `now` exactly: a timer never fires early, not even within its
//! millisecond. Entries of the current millisecond that are not due yet stay in their level-0
//! slot until a later `expire`. A deadline in the past goes into the current slot and fires on
//! the next `expire`. If `now` goes backwards, `expire` acts as if it had not moved (it still
//! compares deadlines with the `now` it is given).
//!
//! # Next deadline
//!
//! Each list (slot or overflow) keeps the minimum deadline of the entries filed into it since it
//! was last empty; [`next_deadline`](TimingWheel::next_deadline) returns that of the earliest
//! occupied list. That is exact, except after the earliest timer of a list was removed: then it
//! is earlier than the true next deadline (never later), the worker wakes once for nothing, and
//! the `expire` at that time files the list again and makes the minimum exact. After `expire(now)`
//! nothing pending has a deadline `<= now`, and `next_deadline()` is `> now`, so a worker that
//! sleeps until it never busy-loops.
//!
//! # Memory
//!
//! An entry is 48 bytes on 64-bit Linux: the deadline (`Instant`, 16), the waker (16), the list
//! links (2 × `u32`), the generation (`u32`) and the list number (`u16`). The slab grows by
//! doubling, so a pending timer costs between 48 and 96 bytes of slab, 50 at one million timers
//! (measured by `million_timers` in `wheel/tests.rs`). Fixed cost: 321 list heads and minima,
//! about 6.4 KiB per worker, plus `expire`'s buffer of due wakers (kept up to 256 entries). The
//! slab is kept for reuse while timers are pending, and handed back to the allocator once the
//! wheel is empty (if it grew past [`RELEASE_ENTRIES`] entries).
//!
//! # Tokens
//!
//! A [`TimerToken`] is a slab index and the generation the entry had when it was added. Firing or
//! removing an entry bumps its generation, so a token of a timer that already fired, or whose
//! entry was reused, is stale: `remove` and `update_waker` return `false` for it. A token is only
//! meaningful to the wheel that issued it.
//!
//! # Re-entrancy
//!
//! `expire` wakes wakers (after taking all due ones out, so the wheel is consistent by then) and
//! `remove` drops one while holding `&mut self`. A waker whose `wake` or `drop` reached this wheel
//! again (say through a `RefCell` the caller still borrows) would find it borrowed; the runtime's
//! wakers only queue a task, so that cannot happen.

use std::fmt;
use std::task::Waker;
use std::time::{Duration, Instant};

#[cfg(test)]
mod tests;

/// Bits of a tick consumed by one level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels; beyond them is the overflow list.
const LEVELS: usize = 5;
/// Ticks covered by all levels: a tick differing from `elapsed` above this bit overflows.
const WHEEL_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// List number of the overflow list; lists `0..OVERFLOW` are `level * SLOTS + slot`.
const OVERFLOW: usize = LEVELS * SLOTS;
/// Number of lists: every slot plus the overflow list.
const LISTS: usize = OVERFLOW + 1;
/// The "no entry" link.
const NIL: u32 = u32::MAX;
/// Largest tick, far beyond any real deadline (half of `u64` leaves room for arithmetic).
const MAX_TICK: u64 = u64::MAX >> 1;

/// Above this many slab entries, an empty wheel hands its slab back to the allocator.
const RELEASE_ENTRIES: usize = 4096;
/// `expire` keeps its buffer of due wakers for the next call up to this capacity.
const KEEP_DUE: usize = 256;

/// Identifies one pending timer in the [`TimingWheel`] that returned it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimerToken {
    /// Index into the slab.
    index: u32,
    /// Generation of the slab entry when the timer was added.
    generation: u32,
}

/// One slab entry: a pending timer, or a free slot (`waker` is `None`).
struct Entry {
    /// The exact deadline.
    deadline: Instant,
    /// Woken once when the deadline passes; `None` marks a free entry.
    waker: Option<Waker>,
    /// Previous entry in the same list, or `NIL` if this is the head.
    prev: u32,
    /// Next entry in the same list (or in the free list), or `NIL`.
    next: u32,
    /// Bumped every time the entry is freed, so old tokens go stale.
    generation: u32,
    /// The list the entry is linked into (`level * SLOTS + slot`, or `OVERFLOW`).
    list: u16,
}

/// The per-worker store of pending timers. See the [module docs](self).
pub(crate) struct TimingWheel {
    /// The slab of entries.
    entries: Vec<Entry>,
    /// Head of the free list of `entries`, linked through `Entry::next`.
    free: u32,
    /// Number of pending timers.
    len: usize,
    /// Generation of entries pushed onto the slab; above every generation a dropped slab had.
    fresh_generation: u32,
    /// Tick zero.
    origin: Instant,
    /// The current tick: every slot of an earlier tick is empty.
    elapsed: u64,
    /// Bit `slot` of `occupied[level]` is set iff that slot's list is non-empty.
    occupied: [u64; LEVELS],
    /// Head of every list, `NIL` if empty.
    heads: [u32; LISTS],
    /// For a non-empty list: at most the earliest deadline in it (see the module docs).
    minima: [Instant; LISTS],
    /// Buffer for `expire`: the due timers, woken in deadline order once all are collected.
    due: Vec<(Instant, Waker)>,
}

impl TimingWheel {
    /// Creates an empty wheel whose tick zero is `now`.
    pub(crate) fn new(now: Instant) -> TimingWheel {
        TimingWheel {
            entries: Vec::new(),
            free: NIL,
            len: 0,
            fresh_generation: 0,
            origin: now,
            elapsed: 0,
            occupied: [0; LEVELS],
            heads: [NIL; LISTS],
            minima: [now; LISTS],
            due: Vec::new(),
        }
    }

    /// O(1). The waker is woken once, by `expire`, at or after `deadline`.
    pub(crate) fn add(&mut self, deadline: Instant, waker: Waker) -> TimerToken {
        let index = if self.free == NIL {
            let index = u32::try_from(self.entries.len())
                .ok()
                .filter(|&index| index != NIL)
                .expect("more than 4 billion pending timers on one worker");
            self.entries.push(Entry {
                deadline,
                waker: Some(waker),
                prev: NIL,
                next: NIL,
                generation: self.fresh_generation,
                list: 0,
            });
            index
        } else {
            let index = self.free;
            let entry = &mut self.entries[index as usize];
            self.free = entry.next;
            entry.deadline = deadline;
            entry.waker = Some(waker);
            index
        };
        self.len += 1;
        self.link(index);
        TimerToken {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    /// O(1). Returns false if the timer already fired or the token is stale.
    pub(crate) fn remove(&mut self, token: TimerToken) -> bool {
        if self.entry_mut(token).is_none() {
            return false;
        }
        self.unlink(token.index);
        drop(self.free_entry(token.index));
        self.release_if_empty();
        true
    }

    /// Replaces the waker unless `will_wake`; returns false if already fired/stale.
    pub(crate) fn update_waker(&mut self, token: TimerToken, waker: &Waker) -> bool {
        match self.entry_mut(token).and_then(|entry| entry.waker.as_mut()) {
            Some(current) => {
                if !current.will_wake(waker) {
                    current.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    /// Wakes (and removes) every timer whose deadline <= now; returns how many. Never wakes a
    /// timer early.
    ///
    /// The due timers are woken in deadline order, after the wheel has taken them all out.
    pub(crate) fn expire(&mut self, now: Instant) -> usize {
        let now_tick = self.tick(now).max(self.elapsed);
        let mut due = std::mem::take(&mut self.due);
        loop {
            if let Some((level, slot, start)) = self.next_slot().filter(|s| s.2 <= now_tick) {
                // Lower levels are empty (`next_slot` looks at them first), so moving `elapsed`
                // to the slot's start keeps every remaining entry at or after it.
                self.elapsed = start;
                let mut index = self.take_list(level * SLOTS + slot);
                while index != NIL {
                    let entry = &self.entries[index as usize];
                    let (next, deadline) = (entry.next, entry.deadline);
                    if deadline <= now {
                        if let Some(waker) = self.free_entry(index) {
                            due.push((deadline, waker));
                        }
                    } else {
                        // Level 0: not due yet, so still in the current millisecond (an earlier
                        // slot ends before `now`). Higher levels: files it lower down.
                        debug_assert!(level != 0 || start == now_tick);
                        self.link(index);
                    }
                    index = next;
                }
                if level == 0 && start == now_tick {
                    // What is left in the current millisecond is not due yet.
                    break;
                }
            } else if self.heads[OVERFLOW] != NIL
                && now_tick >> WHEEL_BITS > self.elapsed >> WHEEL_BITS
            {
                // Every level is empty: all of them lie in `elapsed`'s block, which ends before
                // `now_tick`. Jump to the block of the earliest overflowing deadline (or of
                // `now_tick`, if that is sooner) and file the overflow list again.
                let block = self.elapsed >> WHEEL_BITS;
                let target = (self.tick(self.minima[OVERFLOW]) >> WHEEL_BITS)
                    .clamp(block + 1, now_tick >> WHEEL_BITS);
                debug_assert_eq!(self.occupied, [0; LEVELS]);
                self.elapsed = target << WHEEL_BITS;
                let mut index = self.take_list(OVERFLOW);
                while index != NIL {
                    let next = self.entries[index as usize].next;
                    self.link(index);
                    index = next;
                }
            } else {
                break;
            }
        }
        self.elapsed = now_tick;
        self.release_if_empty();

        let woken = due.len();
        due.sort_unstable_by_key(|&(deadline, _)| deadline);
        for (_, waker) in due.drain(..) {
            waker.wake();
        }
        if due.capacity() <= KEEP_DUE {
            self.due = due;
        }
        woken
    }

    /// The earliest pending deadline, exact or at most ~1 ms early (never later than the true
    /// earliest), so a worker blocking until it never oversleeps, and calling expire at it never
    /// busy-loops for long (after expire(now) with nothing due, next_deadline() must be > now).
    ///
    /// After the earliest timer of a slot was removed it can be earlier than that; see the
    /// module docs.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match self.next_slot() {
            Some((level, slot, _)) => Some(self.minima[level * SLOTS + slot]),
            None if self.heads[OVERFLOW] != NIL => Some(self.minima[OVERFLOW]),
            None => None,
        }
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no timer is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes this wheel holds: itself and its slab (not what the wakers point to).
    #[cfg(test)]
    pub(crate) fn memory_bytes(&self) -> usize {
        size_of::<TimingWheel>()
            + self.entries.capacity() * size_of::<Entry>()
            + self.due.capacity() * size_of::<(Instant, Waker)>()
    }

    /// The tick `time` falls in; times before `origin` are tick zero.
    fn tick(&self, time: Instant) -> u64 {
        let since = time.saturating_duration_since(self.origin);
        let millis = since.as_millis() / Duration::from_millis(1).as_millis();
        u64::try_from(millis).map_or(MAX_TICK, |tick| tick.min(MAX_TICK))
    }

    /// The first occupied slot at or after `elapsed`: `(level, slot, start tick)`.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for (level, &occupied) in self.occupied.iter().enumerate() {
            let shift = SLOT_BITS * level as u32;
            let digit = (self.elapsed >> shift) & (SLOTS as u64 - 1);
            // Entries are never filed behind `elapsed`, so no slot before `digit` is occupied.
            debug_assert_eq!(occupied & !(u64::MAX << digit), 0);
            let ahead = occupied & (u64::MAX << digit);
            if ahead != 0 {
                let slot = u64::from(ahead.trailing_zeros());
                let level_span = (1u64 << (shift + SLOT_BITS)) - 1;
                let start = (self.elapsed & !level_span) | (slot << shift);
                return Some((level, slot as usize, start));
            }
        }
        None
    }

    /// The list an entry due at tick `when` belongs in, given the current `elapsed`.
    fn list_for(&self, when: u64) -> usize {
        // The highest bit in which `when` differs from `elapsed` picks the level; or'ing in the
        // slot mask puts the ticks of `elapsed`'s own 64-tick run at level 0.
        let differs = (self.elapsed ^ when) | (SLOTS as u64 - 1);
        if differs >> WHEEL_BITS != 0 {
            return OVERFLOW;
        }
        let level = (u64::BITS - 1 - differs.leading_zeros()) / SLOT_BITS;
        let slot = (when >> (level * SLOT_BITS)) & (SLOTS as u64 - 1);
        level as usize * SLOTS + slot as usize
    }

    /// Pushes the (unlinked, pending) entry `index` onto the front of the list for its deadline.
    fn link(&mut self, index: u32) {
        let deadline = self.entries[index as usize].deadline;
        let when = self.tick(deadline).max(self.elapsed);
        let list = self.list_for(when);
        let head = self.heads[list];
        if head == NIL {
            self.minima[list] = deadline;
            if list != OVERFLOW {
                self.occupied[list / SLOTS] |= 1 << (list % SLOTS);
            }
        } else {
            self.minima[list] = self.minima[list].min(deadline);
            self.entries[head as usize].prev = index;
        }
        let entry = &mut self.entries[index as usize];
        entry.prev = NIL;
        entry.next = head;
        entry.list = list as u16;
        self.heads[list] = index;
    }

    /// Takes the pending entry `index` out of its list.
    fn unlink(&mut self, index: u32) {
        let entry = &self.entries[index as usize];
        let (prev, next, list) = (entry.prev, entry.next, usize::from(entry.list));
        if prev == NIL {
            self.heads[list] = next;
            if next == NIL && list != OVERFLOW {
                self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
            }
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }

    /// Empties list `list` and returns its former head; its entries keep their `next` links.
    fn take_list(&mut self, list: usize) -> u32 {
        if list != OVERFLOW {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        }
        std::mem::replace(&mut self.heads[list], NIL)
    }

    /// The pending entry `token` names, if it is still pending.
    fn entry_mut(&mut self, token: TimerToken) -> Option<&mut Entry> {
        self.entries
            .get_mut(token.index as usize)
            .filter(|entry| entry.generation == token.generation && entry.waker.is_some())
    }

    /// Returns the (unlinked) entry `index` to the free list and hands back its waker.
    fn free_entry(&mut self, index: u32) -> Option<Waker> {
        let entry = &mut self.entries[index as usize];
        let waker = entry.waker.take();
        entry.generation = entry.generation.wrapping_add(1);
        entry.prev = NIL;
        entry.next = self.free;
        self.free = index;
        self.len -= 1;
        waker
    }

    /// Hands a large slab back to the allocator once no timer is pending.
    fn release_if_empty(&mut self) {
        if !self.is_empty() || self.entries.len() <= RELEASE_ENTRIES {
            return;
        }
        // Entries pushed later start above every generation a token may still hold.
        let newest = self.entries.iter().map(|entry| entry.generation).max();
        self.fresh_generation = newest.unwrap_or(0).wrapping_add(1);
        self.entries = Vec::new();
        self.free = NIL;
    }
}

impl fmt::Debug for TimingWheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimingWheel")
            .field("len", &self.len())
            .field("origin", &self.origin)
            .field("elapsed_ms", &self.elapsed)
            .field("next_deadline", &self.next_deadline())
            .finish_non_exhaustive()
    }
}
