//! How a worker shares its time between its thread-local processes and the
//! thread-safe ones: the two take turns by the CPU time each used, as two
//! groups in Linux's CFS group scheduling.
//!
//! # Why
//!
//! A worker used to run its thread-local processes for a whole time slice
//! (2 ms by default, or 256 runs) before it looked at the thread-safe
//! scheduler, and then made at most 16 thread-safe runs. A thread-safe
//! process ready meanwhile waited in its shard: woken by the worker's own
//! thread-local processes it was only marked ready there, and woken from
//! another thread it woke the worker only if that slept, so a busy worker
//! found it at the end of the slice. Two workers each running a producer
//! that `try_send`s to one thread-safe consumer and yields every 1,024 sends
//! (issue 14, item 5): the consumer's inbox (8 messages) was emptied once or
//! twice per time slice, about 20,000 messages a second, while the producers
//! were refused 100 million times a second (`rt/tests/thread_safe_consumer.rs`).
//!
//! # The rule
//!
//! A [`Balance`] keeps the *lead* of the thread-local side: the CPU time
//! this worker spent running thread-local processes minus the time it spent
//! running thread-safe ones, kept within ±[`MAX_LEAD`]. Before each poll
//!
//! - of a thread-local process, the worker gives way to the thread-safe side
//!   when a thread-safe process is ready in its shard (the shard's ready
//!   hint, one relaxed load; see `scheduler/shards.rs`) and the lead, with
//!   the batch of thread-local runs so far, is above [`SWITCH_LEAD`]. (The
//!   batch's time is added to the lead when the batch ends, so that a poll
//!   costs the worker one load and one branch more, and the lead is worked
//!   out only when a thread-safe process waits.)
//! - of a thread-safe process, it gives way to the thread-local side when the
//!   lead is below −[`SWITCH_LEAD`] and a thread-local process is ready.
//!
//! So when both sides always have work, each gets half of the worker, in
//! turns of about 2 × [`SWITCH_LEAD`] (the gap between the two thresholds
//! keeps a worker from switching after every poll, each switch being a turn
//! of its loop); and a side that uses little (a consumer handling a few
//! messages now and then) builds up a lead of the other side, up to
//! [`MAX_LEAD`], and runs as soon as it is ready: the consumer above now runs
//! after every poll of the producer on its worker. The bound on the lead is the sleeper credit
//! of this rule: a side that was idle for long runs at most [`MAX_LEAD`] +
//! [`SWITCH_LEAD`] before the other, busy one gets its turn again.
//!
//! A thread-safe process woken while the worker is busy with thread-local
//! ones waits at most about 2 × [`SWITCH_LEAD`] of their run plus the poll
//! running, where it waited up to a time slice. The time slice still bounds
//! each batch of thread-local runs, after which the worker looks at timers,
//! I/O and wake-ups from other threads as before.
//!
//! Not done: fairness per process across the two sides. The sides share the
//! worker equally whatever the number of processes on each (as CFS shares a
//! CPU between two groups); within a side, processes share by virtual run
//! time as before. Virtual run times of the two sides cannot be compared:
//! every thread-local queue and every shard has its own minimum. And only
//! the worker's own shard is looked at before each poll; other shards'
//! processes are stolen as before (`scheduler/shards.rs`). Nor is a
//! thread-safe process woken by a thread-local one run next on the worker
//! that woke it, as one woken by a thread-safe process is
//! (`wake/run_next.rs`): the consumer above is served by its shard's worker,
//! within this balance.

use std::time::Duration;

/// The lead at which a side gives way to the other when that has a process
/// ready.
pub(crate) const SWITCH_LEAD: Duration = Duration::from_micros(100);

/// The most one side can lead the other by: how much CPU time a side that
/// did not need the worker can make up for.
pub(crate) const MAX_LEAD: Duration = Duration::from_micros(200);

const SWITCH: i64 = SWITCH_LEAD.as_nanos() as i64;
const MAX: i64 = MAX_LEAD.as_nanos() as i64;

/// The CPU time a worker's thread-local processes used beyond its thread-safe
/// ones. See the [module docs](self).
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct Balance {
    /// Nanoseconds, within `-MAX..=MAX`.
    lead: i64,
}

impl Balance {
    pub(crate) const fn new() -> Balance {
        Balance { lead: 0 }
    }

    /// A thread-local process ran for `nanos` nanoseconds.
    pub(crate) const fn ran_local(&mut self, nanos: u64) {
        let lead = self.lead.saturating_add_unsigned(nanos);
        self.lead = if lead > MAX { MAX } else { lead };
    }

    /// A thread-safe process ran for `nanos` nanoseconds.
    pub(crate) const fn ran_shared(&mut self, nanos: u64) {
        let lead = self.lead.saturating_sub_unsigned(nanos);
        self.lead = if lead < -MAX { -MAX } else { lead };
    }

    /// Whether the thread-local side should give way to a ready thread-safe
    /// process once it ran `nanos` more nanoseconds (those of the batch
    /// running: the worker adds a batch's time when it ends, and works this
    /// out only when a thread-safe process is ready).
    pub(crate) const fn local_gives_way_after(&self, nanos: u64) -> bool {
        self.lead.saturating_add_unsigned(nanos) > SWITCH
    }

    /// Whether the thread-safe side should give way to a ready thread-local
    /// process.
    pub(crate) const fn shared_gives_way(&self) -> bool {
        self.lead < -SWITCH
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Balance, MAX_LEAD, SWITCH_LEAD};

    fn nanos(duration: Duration) -> u64 {
        u64::try_from(duration.as_nanos()).unwrap()
    }

    /// Runs a worker whose two sides are always ready, with polls of `local`
    /// and `shared`, for `polls` polls; returns the time each side got.
    fn both_busy(local: Duration, shared: Duration, polls: usize) -> (Duration, Duration) {
        let mut balance = Balance::new();
        let (mut local_time, mut shared_time) = (Duration::ZERO, Duration::ZERO);
        let mut on_local = true;
        for _ in 0..polls {
            if on_local && balance.local_gives_way_after(0) {
                on_local = false;
            } else if !on_local && balance.shared_gives_way() {
                on_local = true;
            }
            if on_local {
                balance.ran_local(nanos(local));
                local_time += local;
            } else {
                balance.ran_shared(nanos(shared));
                shared_time += shared;
            }
        }
        (local_time, shared_time)
    }

    #[test]
    fn busy_sides_share_the_worker_equally() {
        for (local, shared) in [(1, 1), (1, 20), (20, 1), (7, 50), (300, 2)] {
            let (local, shared) = (Duration::from_micros(local), Duration::from_micros(shared));
            let (local_time, shared_time) = both_busy(local, shared, 100_000);
            // Equal within a turn each (polls longer than a turn overshoot it).
            let turn = 2 * SWITCH_LEAD + local.max(shared);
            let diff = local_time.abs_diff(shared_time);
            assert!(
                diff <= 2 * turn,
                "{local:?}/{shared:?}: {local_time:?} vs {shared_time:?}"
            );
        }
    }

    #[test]
    fn idle_side_gets_bounded_credit() {
        let mut balance = Balance::new();
        // The thread-safe side had nothing to do for a second.
        balance.ran_local(nanos(Duration::from_secs(1)));
        let mut shared = Duration::ZERO;
        while !balance.shared_gives_way() {
            balance.ran_shared(1_000);
            shared += Duration::from_micros(1);
        }
        assert_eq!(shared, MAX_LEAD + SWITCH_LEAD + Duration::from_micros(1));
    }

    #[test]
    fn a_side_that_uses_little_runs_whenever_ready() {
        let mut balance = Balance::new();
        // A producer's polls of 20 µs, a consumer's of 1 µs in between: after
        // a few polls the consumer is let in after every producer's poll.
        for poll in 0..1_000 {
            balance.ran_local(20_000);
            if poll >= 5 {
                assert!(balance.local_gives_way_after(0), "poll {poll}");
            }
            if balance.local_gives_way_after(0) {
                balance.ran_shared(1_000);
                assert!(!balance.shared_gives_way());
            }
        }
    }
}
