//! [`SpinGate`]: whether a worker that ran out of work may spin before it
//! sleeps, or must sleep at once because the machine has more runnable
//! threads than CPUs.
//!
//! # Why
//!
//! A worker that just ran out of work spins for up to `idle_spin` (50 µs)
//! looking for more, because the reply to a message it sent often comes a
//! few microseconds later: finding it by spinning saves a sleep and a
//! wake-up, system calls on both sides (kiln-bench W1b: about 1 µs a round
//! trip across two threads, against 40 µs for peers that sleep at once).
//!
//! That holds only while each worker has a CPU. When the machine has more
//! runnable threads than CPUs, the kernel preempts a spinning worker like
//! any other thread, and a preempted spinner is worse than a sleeper twice
//! over: it is not marked asleep, so the thread that makes work for it does
//! not wake it (no system call, the point of spinning) and it waits for the
//! end of another thread's time slice, milliseconds; and while it does run,
//! it burns the CPU that the thread it waits for needs. W1b at a load
//! average of 10 took 275 µs a round trip with 108 µs of CPU (tokio, which
//! sleeps at once: 6.8 µs).
//!
//! # How
//!
//! Two rules, one for each way a spin wastes CPU.
//!
//! **The gate: preempted spins.** The spin loop reads the clock every few
//! dozen turns; two reads more than [`PREEMPTED_GAP`] apart mean the thread
//! was off its CPU in between (the loop itself takes well under a
//! microsecond between reads). Then the worker stops spinning and sleeps,
//! and does not spin again for a while: [`FIRST_PAUSE`] at first, doubled
//! each time a spin is preempted again within [`MAX_PAUSE`] of the gate
//! reopening, up to [`MAX_PAUSE`]; a preemption that comes later than that
//! (the load went for a while) starts over from [`FIRST_PAUSE`]. On a
//! machine that stays oversubscribed, a worker so spins for one stretch of
//! a second at most, and pays a preemption's delay no more often.
//!
//! The first version of the gate (50dd08d) halved the pause after each spin
//! that ended unpreempted. Spins are short and many (one per message in W1b), so after
//! each pause hundreds ended unpreempted before the next preemption, and
//! the pause never grew past [`FIRST_PAUSE`]: under load the gate stayed
//! open for the stretch of a time slice after every 10 ms pause, and the
//! spins of those stretches took the CPU the other side waited for.
//!
//! **The budget: spins that find nothing.** Like an adaptive mutex (glibc's
//! `PTHREAD_MUTEX_ADAPTIVE_NP`), the length of the next spin adapts to what
//! the last ones found: a spin that runs its whole budget without finding
//! work halves the next budget (below [`MIN_BUDGET`]: zero, the worker
//! sleeps at once), a spin that finds work doubles it, up to `idle_spin`.
//! A worker with a zero budget does not spin, so it learns from its sleeps
//! instead: work that came less than `idle_spin` after the worker went idle
//! would have been found by a full spin, and grows the budget back. A worker
//! whose other side went quiet (the end of a burst, a worker with nothing
//! to steal) so stops burning 50 µs after every run.
//!
//! Both checks cost nothing on the spin's fast path: the loop read the
//! clock anyway, to end the spin after its budget.
//!
//! # What it bought, and what is left
//!
//! BENCHMARKS.md, "W1b loaded: pauses that grow, and an adaptive spin
//! budget": with four busy loops on the two CPUs (load average 4 to 9),
//! kiln's W1b went from 86 to 216 µs a round trip (24 to 51 µs of CPU) to
//! 46 to 60 µs (12 to 13.5 µs of CPU), close to what a worker that never
//! spins achieves, with W1c and skynet on two workers unchanged. It is still
//! behind the peers there, and so is a worker that never spins: the rest of
//! the gap is the sleep and the wake-up themselves (an io_uring wait, woken
//! by a `MSG_RING` submission), which cost more than tokio's futex park.
//! At a lighter load (the busy loops alone, load average 3 to 4.5), the
//! gate costs rounds in which spinning paid off: a median of 21.7 µs (9.8 µs
//! of CPU) against 13.6 µs (5.5 µs) with pauses that never grew. A shorter
//! [`MAX_PAUSE`] is the next thing to measure.

use std::time::{Duration, Instant};

/// A gap between two clock reads of the spin loop that means the thread was
/// preempted (descheduled) in between.
pub(crate) const PREEMPTED_GAP: Duration = Duration::from_micros(20);
/// How long a worker does not spin after a preempted spin that did not
/// follow another one closely.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest a worker goes without spinning, on a machine that stays
/// oversubscribed; also how long the gate must stay open without a
/// preempted spin for the pauses to start over from [`FIRST_PAUSE`].
const MAX_PAUSE: Duration = Duration::from_secs(1);
/// The shortest spin worth starting: a budget halved below it becomes zero
/// (sleep at once), and a zero budget grows back to it.
const MIN_BUDGET: Duration = Duration::from_micros(1);

/// Whether a worker may spin now, and for how long; see the
/// [module docs](self).
#[derive(Debug)]
pub(crate) struct SpinGate {
    /// No spinning before this.
    closed_until: Option<Instant>,
    /// When the gate last reopened after a pause.
    opened_at: Option<Instant>,
    /// How long the next preempted spin closes the gate for.
    pause: Duration,
    /// How long the next spin may last (zero: sleep at once).
    budget: Duration,
    /// The most `budget` grows to: `idle_spin`.
    max_budget: Duration,
}

impl SpinGate {
    pub(crate) fn new(max_budget: Duration) -> SpinGate {
        SpinGate {
            closed_until: None,
            opened_at: None,
            pause: FIRST_PAUSE,
            budget: max_budget,
            max_budget,
        }
    }

    /// How long the worker may spin from `now`: zero while the gate is
    /// closed or the budget ran down.
    pub(crate) fn budget(&mut self, now: Instant) -> Duration {
        match self.closed_until {
            Some(until) if now < until => return Duration::ZERO,
            Some(_) => {
                self.closed_until = None;
                self.opened_at = Some(now);
            }
            None => {}
        }
        self.budget
    }

    /// A spin found work: the next one may last twice as long, up to
    /// `idle_spin`.
    pub(crate) fn found_work(&mut self) {
        self.grow();
    }

    /// A spin ran its whole budget without finding work: the next one may
    /// last half as long, or not at all once below [`MIN_BUDGET`].
    pub(crate) fn timed_out(&mut self) {
        self.budget /= 2;
        if self.budget < MIN_BUDGET {
            self.budget = Duration::ZERO;
        }
    }

    /// The worker went idle at `idle` and slept until `woke` (after a spin
    /// that timed out, or none): if it waited less than `idle_spin`, a
    /// longer spin would have found the work, so the budget grows.
    pub(crate) fn slept(&mut self, idle: Instant, woke: Instant) {
        if self.budget < self.max_budget && woke.duration_since(idle) < self.max_budget {
            self.grow();
        }
    }

    fn grow(&mut self) {
        self.budget = (self.budget * 2).max(MIN_BUDGET).min(self.max_budget);
    }

    /// A spin was preempted at `now`: closes the gate for the pause. The
    /// next pause doubles (up to [`MAX_PAUSE`]) if this preemption came
    /// within [`MAX_PAUSE`] of the gate reopening: the machine stays
    /// oversubscribed; it starts over from [`FIRST_PAUSE`] otherwise.
    pub(crate) fn preempted(&mut self, now: Instant) {
        let recurs = self
            .opened_at
            .is_some_and(|opened| now.duration_since(opened) < MAX_PAUSE);
        if !recurs {
            self.pause = FIRST_PAUSE;
        }
        self.closed_until = Some(now + self.pause);
        self.pause = (self.pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests;
