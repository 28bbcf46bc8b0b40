//! The schedulers: which ready process a worker runs next.
//!
//! Each worker has a [`RunQueue`] for its thread-local processes (in its
//! `LocalInternals`, no locks, no atomics), and one behind a mutex for each
//! shard of thread-safe processes (in `RuntimeInternals`, see
//! `scheduler/shards.rs`). All use the same algorithm:
//!
//! # Algorithm: virtual run time, as in Linux's CFS
//!
//! Every process has a *virtual run time*: the time it has run, in
//! nanoseconds, scaled by its [`Priority`] (a `HIGH` priority process is
//! charged half its real run time, a `LOW` one 1.5 times). The ready process
//! with the smallest virtual run time runs next (a binary heap keyed on it,
//! with a FIFO in front for keys that come in order, see `scheduler/ready.rs`),
//! so a process that runs longer runs less often, and processes that run
//! little (an actor handling one message and waiting) are picked first.
//!
//! - A **new process** starts at the queue's *minimum virtual run time* (the
//!   virtual run time of the last process picked, which only grows) plus a
//!   *start debit*, [`START_DEBIT`] charged at its priority: it is placed as
//!   if it had already run once for 2 ms. It runs soon (it cannot be
//!   starved: the minimum passes it once the processes below it ran that
//!   much), but after the ready processes that ran less, and after those
//!   that wake up meanwhile (see below for the exact rule).
//! - A process **waking up** after sleeping keeps its virtual run time, but
//!   no less than the minimum minus [`SLEEPER_CREDIT`]: it may run before
//!   busy processes, but a long sleep earns no unbounded credit.
//! - A process cannot be preempted in the middle of a poll (it is a future),
//!   but one that never waits (always ready) goes back into the heap after
//!   each poll with its grown virtual run time, so every other ready process
//!   runs before it runs again; and a worker runs processes for at most a
//!   time slice before it checks timers, I/O and other threads' wake-ups.
//!
//! # Between the two kinds of process
//!
//! A worker has two sides: its thread-local processes (its own [`RunQueue`])
//! and thread-safe ones (its shard first, see `scheduler/shards.rs`). The
//! virtual run times of the two cannot be compared (each queue has its own
//! minimum), so the sides share the worker as two groups, by the CPU time
//! each used on it: the side behind runs first when it has a process ready,
//! within a bounded lead (see `scheduler/balance.rs`, which also tells the
//! starvation this fixed: a thread-safe consumer next to busy thread-local
//! producers used to run once per time slice).
//!
//! # Why new processes start with a debit
//!
//! Without it a new process started *at* the minimum, below every process
//! that had run since (their virtual run time is the minimum they were
//! picked at plus their run). A burst of spawns (a thousand connections
//! accepted at once, an actor starting 50,000 children) then put every new
//! process ahead of any process woken while they were ready, which waited
//! until each new one had run once: a 1 ms timer fired 116 ms late behind
//! 50,000 spawns (`rt/tests/scheduler_spawn_burst.rs`). Linux's CFS has the
//! same two placements and the same answer: a woken task gets *sleeper
//! credit* (`place_entity`: at least `min_vruntime` minus half the
//! scheduling latency) and a forked one a *start debit* (the `START_DEBIT`
//! feature: `min_vruntime` plus the virtual slice it is about to get).
//!
//! With the debit the rule is simple to state: a process woken up runs
//! before every process spawned since it was last picked, however many were
//! spawned, unless its last poll ran longer than the debit (2 ms, the
//! default time slice; both charged at the processes' priorities). Its
//! virtual run time is at most the minimum it was picked at plus its last
//! run, and the minimum never decreases, so a new process's placement is
//! above it. A process whose polls are longer than a time slice is already
//! one that holds its worker; it takes its turn after the burst's
//! processes, as fairness would give it anyway.
//!
//! What the debit costs: a new process now waits behind the processes that
//! are always ready (busy ones that yield) until each has run 2 ms more,
//! where it used to run next; the same wait as a woken process whose last
//! poll ran 2 ms. In return a spawn loop cannot take a worker from the
//! processes already there (Linux's reason for `START_DEBIT`: fork bombs).
//! The debit is charged once; afterwards a new process is charged its run
//! time like any other, so the shares of long-running processes are
//! unchanged. Spawning stays one push, with no allocation beyond the ready
//! queue's amortized growth; as the minimum never decreases, new processes'
//! keys come in order and go to the FIFO in front of the heap (O(1)).
//!
//! Not done: a debit that grows with the number of ready processes (Linux's
//! virtual slice shrinks as it grows, to keep the scheduling period bounded;
//! here that would shrink the debit in exactly the burst it is for), or the
//! lag-based placement of Linux's newer EEVDF scheduler (new tasks at the
//! *average* virtual run time), which needs the sum of the ready processes'
//! virtual run times kept up to date on every push and pop.

use std::time::Duration;

use crate::runtime::wake::ProcessId;
use crate::spawn::Priority;
use process::Process;
use process_box::ProcessBox;
use ready::ReadyQueue;

/// The most virtual run time a waking process can gain on the minimum.
pub(crate) const SLEEPER_CREDIT: Duration = Duration::from_millis(2);

/// The virtual run time a new process starts above the minimum, as if it had
/// already run this long (scaled by its priority, like any run). The default
/// time slice, so that a process whose polls fit in one runs, once woken,
/// before every process spawned since it last ran (see the module docs).
pub(crate) const START_DEBIT: Duration = Duration::from_millis(2);

/// Ready processes ordered by virtual run time, and the processes themselves
/// in a slab indexed by [`ProcessId::index`].
pub(crate) struct RunQueue<P: ?Sized + Process> {
    slots: Vec<Slot<P>>,
    /// Indices of empty slots.
    free: Vec<u32>,
    /// `(virtual run time, index)` of ready processes; a process is in here
    /// at most once, exactly when its state is [`State::Ready`].
    ready: ReadyQueue,
    /// The virtual run time of the last process picked; never decreases.
    min_vruntime: u64,
    /// Number of processes (in any state).
    len: usize,
}

struct Slot<P: ?Sized + Process> {
    generation: u16,
    state: State,
    vruntime: u64,
    priority: Priority,
    /// `None` while empty or running.
    process: Option<ProcessBox<P>>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    Empty,
    /// Waiting to be woken.
    Idle,
    /// In the ready queue.
    Ready,
    /// Taken out to run; `woken` if it was woken meanwhile.
    Running {
        woken: bool,
    },
}

/// A process taken out of the [`RunQueue`] to run; give it back with
/// [`RunQueue::finish`].
pub(crate) struct Running<P: ?Sized + Process> {
    pub(crate) pid: ProcessId,
    pub(crate) process: ProcessBox<P>,
}

impl<P: ?Sized + Process> RunQueue<P> {
    pub(crate) const fn new() -> RunQueue<P> {
        RunQueue {
            slots: Vec::new(),
            free: Vec::new(),
            ready: ReadyQueue::new(),
            min_vruntime: 0,
            len: 0,
        }
    }

    /// Adds a process, ready to run, [`START_DEBIT`] above the minimum.
    pub(crate) fn add(&mut self, process: ProcessBox<P>, priority: Priority) -> ProcessId {
        let debit = priority.scale(START_DEBIT.as_nanos() as u64);
        let vruntime = self.min_vruntime.saturating_add(debit);
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.slots.len()).expect("more than 2^32 processes");
                self.slots.push(Slot {
                    generation: 0,
                    state: State::Empty,
                    vruntime: 0,
                    priority,
                    process: None,
                });
                index
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.state = State::Ready;
        slot.vruntime = vruntime;
        slot.priority = priority;
        slot.process = Some(process);
        self.ready.push((vruntime, index));
        self.len += 1;
        ProcessId {
            index,
            generation: slot.generation,
        }
    }

    /// Marks `pid` ready; stale ids and ready processes are ignored.
    pub(crate) fn wake(&mut self, pid: ProcessId) {
        let floor = self.sleeper_floor();
        let Some(slot) = self.slots.get_mut(pid.index as usize) else {
            return;
        };
        if slot.generation != pid.generation {
            return;
        }
        match slot.state {
            State::Idle => {
                slot.vruntime = slot.vruntime.max(floor);
                slot.state = State::Ready;
                self.ready.push((slot.vruntime, pid.index));
            }
            State::Running { .. } => slot.state = State::Running { woken: true },
            State::Ready | State::Empty => {}
        }
    }

    /// Wakes `pid` to run at once: takes it out to run if it was waiting,
    /// without going through the ready queue (and without moving the
    /// minimum: it is picked out of order); else wakes it as [`RunQueue::wake`]
    /// does and returns `None`. For the run-next slot (`wake/run_next.rs`).
    pub(crate) fn take_woken(&mut self, pid: ProcessId) -> Option<Running<P>> {
        let waiting = self
            .slots
            .get(pid.index as usize)
            .is_some_and(|slot| slot.generation == pid.generation && slot.state == State::Idle);
        if !waiting {
            self.wake(pid);
            return None;
        }
        let floor = self.sleeper_floor();
        let slot = &mut self.slots[pid.index as usize];
        slot.vruntime = slot.vruntime.max(floor);
        slot.state = State::Running { woken: false };
        let process = slot.process.take().expect("waiting process missing");
        Some(Running { pid, process })
    }

    /// The least virtual run time a process waking up gets: the minimum less
    /// the sleeper credit.
    fn sleeper_floor(&self) -> u64 {
        self.min_vruntime
            .saturating_sub(SLEEPER_CREDIT.as_nanos() as u64)
    }

    /// Marks every process ready (after wake-ups were lost to an overflow).
    pub(crate) fn wake_all(&mut self) {
        for index in 0..self.slots.len() {
            let generation = self.slots[index].generation;
            self.wake(ProcessId {
                index: index as u32,
                generation,
            });
        }
    }

    /// Takes the ready process with the smallest virtual run time out to run.
    pub(crate) fn next(&mut self) -> Option<Running<P>> {
        let (vruntime, index) = self.ready.pop()?;
        self.min_vruntime = self.min_vruntime.max(vruntime);
        let slot = &mut self.slots[index as usize];
        debug_assert_eq!(slot.state, State::Ready);
        slot.state = State::Running { woken: false };
        let process = slot.process.take().expect("ready process missing");
        let pid = ProcessId {
            index,
            generation: slot.generation,
        };
        // The one after it: its memory arrives while this one runs.
        if let Some((_, next)) = self.ready.peek()
            && let Some(process) = &self.slots[next as usize].process
        {
            process.prefetch();
        }
        Some(Running { pid, process })
    }

    /// Gives back a process that ran for `ran`. If it is `done` it is
    /// removed and returned (to be dropped outside any lock).
    pub(crate) fn finish(
        &mut self,
        running: Running<P>,
        ran: Duration,
        done: bool,
    ) -> Option<ProcessBox<P>> {
        let index = running.pid.index;
        let slot = &mut self.slots[index as usize];
        if done {
            slot.state = State::Empty;
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push(index);
            self.len -= 1;
            return Some(running.process);
        }
        let charged = slot.priority.scale(ran.as_nanos() as u64);
        slot.vruntime = slot.vruntime.saturating_add(charged);
        slot.process = Some(running.process);
        if let State::Running { woken: true } = slot.state {
            slot.state = State::Ready;
            self.ready.push((slot.vruntime, index));
        } else {
            slot.state = State::Idle;
        }
        None
    }

    /// Gives back the memory of the ready queue after a burst (say a million
    /// processes spawned at once), once none is ready, and the empty slots
    /// at the end of the slab once a peak of processes is over (fewer than
    /// a quarter of the slots in use). Cheap to call often.
    ///
    /// A slot made again after the slab shrank starts its generations
    /// anew, so a waker of a process long gone may wake its new process:
    /// a spurious wake-up, as after the 16-bit generation wraps.
    pub(crate) fn shrink_if_idle(&mut self) {
        const KEEP: usize = 256;
        self.ready.shrink_if_empty(KEEP);
        if self.slots.len() > KEEP && self.len < self.slots.len() / 4 {
            self.shrink_slots(KEEP);
        }
    }

    /// Drops the empty slots at the end of the slab (keeping `keep`) and the
    /// capacity that held them.
    #[cold]
    fn shrink_slots(&mut self, keep: usize) {
        let before = self.slots.len();
        while self.slots.len() > keep
            && self
                .slots
                .last()
                .is_some_and(|slot| slot.state == State::Empty)
        {
            self.slots.pop();
        }
        let len = self.slots.len();
        if len < before {
            self.free.retain(|&index| (index as usize) < len);
            self.slots.shrink_to(len.max(keep));
            self.free.shrink_to(len.max(keep));
        }
    }

    /// Returns `true` if a process is ready to run.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// The number of processes, running or not.
    pub(crate) const fn len(&self) -> usize {
        self.len
    }

    /// The number of processes ready to run.
    pub(crate) fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// Removes every process, returning them (to be dropped by the caller).
    pub(crate) fn drain(&mut self) -> Vec<ProcessBox<P>> {
        self.ready.clear();
        self.free.clear();
        self.len = 0;
        self.slots
            .drain(..)
            .filter_map(|slot| slot.process)
            .collect()
    }
}

pub(crate) mod balance;
pub(crate) mod process;
pub(crate) mod process_box;
mod ready;
pub(crate) mod shards;
#[cfg(test)]
mod tests;
