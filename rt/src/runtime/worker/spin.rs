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
//! The spin loop reads the clock every few dozen turns; two reads more than
//! [`PREEMPTED_GAP`] apart mean the thread was off its CPU in between (the
//! loop itself takes well under a microsecond between reads). Then the
//! worker stops spinning and sleeps, and does not spin again for a while:
//! [`FIRST_PAUSE`] at first, doubled each time a spin is preempted again,
//! up to [`MAX_PAUSE`]; a spin that ends without being preempted halves the
//! pause. On a machine that stays oversubscribed, a worker so spins once
//! every [`MAX_PAUSE`] at most, and pays a preemption's delay no more often;
//! when the load goes, the pauses shrink back within a few spins.
//!
//! The check costs nothing on the spin's fast path: the loop read the
//! clock anyway, to end the spin after `idle_spin`.

use std::time::{Duration, Instant};

/// A gap between two clock reads of the spin loop that means the thread was
/// preempted (descheduled) in between.
pub(crate) const PREEMPTED_GAP: Duration = Duration::from_micros(20);
/// How long a worker does not spin after its first preempted spin.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest a worker goes without spinning, on a machine that stays
/// oversubscribed.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Whether a worker may spin now; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct SpinGate {
    /// No spinning before this.
    closed_until: Option<Instant>,
    /// How long the next preempted spin closes the gate for.
    pause: Duration,
}

impl SpinGate {
    pub(crate) const fn new() -> SpinGate {
        SpinGate {
            closed_until: None,
            pause: FIRST_PAUSE,
        }
    }

    /// Whether the worker may spin at `now`.
    pub(crate) fn is_open(&mut self, now: Instant) -> bool {
        match self.closed_until {
            Some(until) if now < until => false,
            Some(_) => {
                self.closed_until = None;
                true
            }
            None => true,
        }
    }

    /// A spin was preempted at `now`: closes the gate for the pause, and
    /// doubles the next pause.
    pub(crate) fn preempted(&mut self, now: Instant) {
        self.closed_until = Some(now + self.pause);
        self.pause = (self.pause * 2).min(MAX_PAUSE);
    }

    /// A spin ended (found work or timed out) without being preempted:
    /// halves the next pause.
    pub(crate) fn ran_clean(&mut self) {
        self.pause = (self.pause / 2).max(FIRST_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{FIRST_PAUSE, MAX_PAUSE, SpinGate};

    #[test]
    fn open_until_a_spin_is_preempted() {
        let mut gate = SpinGate::new();
        let now = Instant::now();
        assert!(gate.is_open(now));
        gate.ran_clean();
        assert!(gate.is_open(now));
        gate.preempted(now);
        assert!(!gate.is_open(now));
        assert!(!gate.is_open(now + FIRST_PAUSE - Duration::from_micros(1)));
        assert!(gate.is_open(now + FIRST_PAUSE));
        assert!(
            gate.is_open(now),
            "reopened for good, not only at a later time"
        );
    }

    #[test]
    fn pauses_double_up_to_the_most_and_halve_on_clean_spins() {
        let mut gate = SpinGate::new();
        let mut now = Instant::now();
        let mut pauses = Vec::new();
        for _ in 0..10 {
            gate.preempted(now);
            let until = gate.closed_until.expect("closed");
            pauses.push(until - now);
            now = until;
            assert!(gate.is_open(now));
        }
        assert_eq!(pauses[0], FIRST_PAUSE);
        assert_eq!(pauses[1], FIRST_PAUSE * 2);
        assert_eq!(pauses[2], FIRST_PAUSE * 4);
        assert_eq!(*pauses.last().expect("ten"), MAX_PAUSE);
        // The load went: clean spins shrink the pause back.
        for _ in 0..10 {
            gate.ran_clean();
        }
        gate.preempted(now);
        assert_eq!(gate.closed_until, Some(now + FIRST_PAUSE));
    }
}
