//! Message loss injected for tests (the `test` feature's
//! `set_message_loss`): the state every `ActorRef` looks at when it sends.

use std::sync::atomic::{AtomicU8, Ordering};

/// Percentage of messages to lose, 0 to 100.
static MESSAGE_LOSS: AtomicU8 = AtomicU8::new(0);

/// See [`test::set_message_loss`](crate::test::set_message_loss).
pub(crate) fn set_message_loss(percent: u8) {
    MESSAGE_LOSS.store(percent.min(100), Ordering::Relaxed);
}

/// Whether to lose the message being sent, see [`set_message_loss`].
pub(crate) fn lose_message() -> bool {
    let percent = MESSAGE_LOSS.load(Ordering::Relaxed);
    percent != 0 && random_percent() < percent
}

/// A pseudo-random number in `0..100` (xorshift64*, seeded per thread).
fn random_percent() -> u8 {
    use std::cell::Cell;
    use std::hash::{BuildHasher, RandomState};
    thread_local! {
        static STATE: Cell<u64> = Cell::new(RandomState::new().hash_one(std::thread::current().id()) | 1);
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % 100) as u8
    })
}
