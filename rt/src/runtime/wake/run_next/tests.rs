//! The run-next slot's holding rules, on this test's thread's context.

use super::{clear, close, hold, open, set_shards};
use crate::runtime::context;
use crate::runtime::ids::{ProcessId, WakerId};

const SHARD_0: WakerId = 7;
const SHARD_1: WakerId = 9;
const OTHER: WakerId = 8;

fn pid(index: u32) -> ProcessId {
    ProcessId {
        index,
        generation: 1,
    }
}

/// Runs `test` with this thread a worker of a runtime with shards
/// `SHARD_0` and `SHARD_1`, then makes it no worker again.
fn on_worker(test: impl FnOnce()) {
    set_shards(vec![SHARD_0, SHARD_1]);
    test();
    clear();
}

/// `hold` on this thread's context.
fn offer(id: WakerId, index: u32) -> Option<(WakerId, ProcessId)> {
    context::with(|cx| hold(cx, id, pid(index)))
}

#[test]
fn a_closed_slot_holds_nothing() {
    on_worker(|| {
        assert_eq!(offer(SHARD_0, 1), Some((SHARD_0, pid(1))));
        open();
        assert_eq!(close(), None);
    });
}

#[test]
fn an_open_slot_holds_a_wake_of_its_shards_until_closed() {
    on_worker(|| {
        open();
        assert_eq!(offer(SHARD_1, 3), None);
        assert_eq!(close(), Some((1, pid(3))));
        // Closed: taken, and nothing more is held.
        assert_eq!(offer(SHARD_1, 4), Some((SHARD_1, pid(4))));
        assert_eq!(close(), None);
    });
}

#[test]
fn wakes_of_other_targets_pass() {
    on_worker(|| {
        open();
        assert_eq!(offer(OTHER, 2), Some((OTHER, pid(2))));
        assert_eq!(close(), None);
    });
}

#[test]
fn a_second_wake_takes_the_slot_and_the_first_is_delivered() {
    on_worker(|| {
        open();
        assert_eq!(offer(SHARD_0, 1), None);
        assert_eq!(offer(SHARD_1, 2), Some((SHARD_0, pid(1))));
        // The same process again: still held, nothing to deliver.
        assert_eq!(offer(SHARD_1, 2), None);
        assert_eq!(close(), Some((1, pid(2))));
    });
}

#[test]
fn off_a_worker_nothing_is_held() {
    set_shards(vec![SHARD_0]);
    clear();
    open();
    assert_eq!(offer(SHARD_0, 1), Some((SHARD_0, pid(1))));
    assert_eq!(close(), None);
}
