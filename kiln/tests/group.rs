//! Actor groups: membership (with `make_unique`), round-robin `try_send_to_one` and `send_to_one`
//! (skipping full and stopped members), `try_send_to_all` and `join_all`.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::mpsc;
use std::task::{self, Poll, Waker};

use kiln::InboxSize;
use kiln::actor;
use kiln::actor_ref::{ActorGroup, SendError};
use kiln::future::ActorFutureBuilder;
use kiln::supervisor::NoSupervisor;
use kiln::sync::block_on;
use kiln::{ActorRef, actor_fn};

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut task::Context::from_waker(Waker::noop()))
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Job {
    Work(u32),
    Stop,
}

impl From<u32> for Job {
    fn from(n: u32) -> Job {
        Job::Work(n)
    }
}

/// Records the work it gets until `Stop` or until no reference is left.
async fn worker(mut ctx: actor::Context<Job>, out: mpsc::Sender<u32>) {
    while let Ok(Job::Work(n)) = ctx.receive_next().await {
        out.send(n).unwrap();
    }
}

type BoxedFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A worker (not running yet) with an inbox of `size`.
struct Member {
    future: BoxedFuture,
    actor_ref: ActorRef<Job>,
    received: mpsc::Receiver<u32>,
}

impl Member {
    fn new(size: usize) -> Member {
        let (out, received) = mpsc::channel();
        let (future, actor_ref) = ActorFutureBuilder::new()
            .with_inbox_size(InboxSize::fixed(size))
            .build(NoSupervisor, actor_fn(worker), out);
        Member {
            future: Box::pin(future),
            actor_ref,
            received,
        }
    }

    /// Lets the worker handle what is in its inbox.
    fn poll(&mut self) -> Poll<()> {
        poll_once(self.future.as_mut())
    }

    /// Stops the worker, runs it to the end and returns all it received.
    fn finish(mut self) -> Vec<u32> {
        // A full inbox would make `Stop` wait: let the worker catch up first.
        assert!(self.poll().is_pending());
        self.actor_ref.try_send(Job::Stop).unwrap();
        block_on(self.future);
        self.received.try_iter().collect()
    }
}

fn members(n: usize, size: usize) -> (Vec<Member>, ActorGroup<Job>) {
    let members: Vec<Member> = (0..n).map(|_| Member::new(size)).collect();
    let group = members.iter().map(|m| m.actor_ref.clone()).collect();
    (members, group)
}

#[test]
fn membership_add_add_unique_remove_and_len() {
    let a = Member::new(4);
    let b = Member::new(4);
    let c = Member::new(4);

    let mut group = ActorGroup::empty();
    assert!(group.is_empty());
    assert_eq!(group.len(), 0);
    group.add(a.actor_ref.clone());
    group.add(a.actor_ref.clone());
    assert_eq!(group.len(), 2);
    assert!(!group.add_unique(a.actor_ref.clone()));
    // A mapped reference to the same actor counts as the same member.
    assert!(!group.add_unique(a.actor_ref.clone().map_fn(|job: Job| job)));
    assert!(group.add_unique(b.actor_ref.clone()));
    assert_eq!(group.len(), 3);
    assert!(group.actors()[2].sends_to(&b.actor_ref));

    // Removes every reference to the actor, whatever its message type.
    assert_eq!(group.remove(&a.actor_ref), 2);
    assert_eq!(group.len(), 1);
    assert_eq!(group.remove(&c.actor_ref), 0);
    let mapped_b: ActorRef<u32> = b.actor_ref.clone().map();
    assert_eq!(group.remove(&mapped_b), 1);
    assert!(group.is_empty());

    // The other ways to make a group.
    let mut group = ActorGroup::from(a.actor_ref.clone());
    group.extend([b.actor_ref.clone(), c.actor_ref.clone()]);
    assert_eq!(group.len(), 3);
    assert!(group.actors()[0].sends_to(&a.actor_ref));
    assert!(group.actors()[1].sends_to(&b.actor_ref));
    assert!(group.actors()[2].sends_to(&c.actor_ref));
    let group = ActorGroup::new([c.actor_ref.clone()]);
    assert_eq!(group.len(), 1);
    assert!(ActorGroup::<Job>::default().is_empty());
    assert!(format!("{group:?}").starts_with("ActorGroup { actors: [ActorRef {"));
}

#[test]
fn make_unique_keeps_the_first_reference_to_each_actor_in_order() {
    let (members, _) = members(3, 4);
    let [a, b, c] = [0, 1, 2].map(|i| members[i].actor_ref.clone());
    let mapped_b: ActorRef<Job> = b.clone().map_fn(|job: Job| job);
    let mut group = ActorGroup::new([
        a.clone(),
        b.clone(),
        a.clone(),
        mapped_b,
        c.clone(),
        b.clone(),
        c.clone(),
    ]);
    assert_eq!(group.make_unique(), 4);
    assert_eq!(group.len(), 3);
    for (member, expected) in group.actors().iter().zip([&a, &b, &c]) {
        assert!(member.sends_to(expected));
    }
    // The first reference to `b` was kept, not the mapped one.
    assert!(!format!("{:?}", group.actors()[1]).contains("mapped: true"));
    // Already unique: nothing to remove; an empty group neither.
    assert_eq!(group.make_unique(), 0);
    assert_eq!(ActorGroup::<Job>::empty().make_unique(), 0);
    // One message per actor now.
    assert_eq!(group.try_send_to_all(1u32), 3);
    let received: Vec<Vec<u32>> = members.into_iter().map(Member::finish).collect();
    assert_eq!(received, [[1], [1], [1]]);
}

#[test]
fn remove_disconnected_drops_stopped_members() {
    let (mut members, mut group) = members(3, 4);
    assert_eq!(group.remove_disconnected(), 0);
    // One cancelled, one stopped normally.
    drop(members.remove(0).future);
    let stopped = members.remove(0);
    stopped.actor_ref.try_send(Job::Stop).unwrap();
    block_on(stopped.future);

    assert_eq!(group.remove_disconnected(), 2);
    assert_eq!(group.len(), 1);
    assert!(group.actors()[0].sends_to(&members[0].actor_ref));
}

#[test]
fn try_send_to_one_goes_round_robin() {
    let (members, group) = members(3, 8);
    for n in 0..8u32 {
        group.try_send_to_one(n).unwrap();
    }
    drop(group);
    let received: Vec<Vec<u32>> = members.into_iter().map(Member::finish).collect();
    assert_eq!(received, [vec![0, 3, 6], vec![1, 4, 7], vec![2, 5]]);
}

#[test]
fn try_send_to_one_skips_a_full_member_and_fails_when_all_are_full() {
    let (members, group) = members(3, 1);
    members[1].actor_ref.try_send(100u32).unwrap();

    assert_eq!(group.try_send_to_one(0u32), Ok(())); // Member 0.
    assert_eq!(group.try_send_to_one(1u32), Ok(())); // Member 1 is full: member 2.
    assert_eq!(
        group.try_send_to_one(2u32),
        Err(SendError::Full(Job::Work(2)))
    );
    drop(group);
    let received: Vec<Vec<u32>> = members.into_iter().map(Member::finish).collect();
    assert_eq!(received, [vec![0], vec![100], vec![1]]);
}

#[test]
fn try_send_to_one_skips_stopped_members() {
    let (mut members, group) = members(3, 8);
    drop(members.remove(1).future);
    for n in 0..4u32 {
        group.try_send_to_one(n).unwrap();
    }
    drop(group);
    let received: Vec<Vec<u32>> = members.into_iter().map(Member::finish).collect();
    // Picks go 0, 1 (stopped, so 2), 2, 0.
    assert_eq!(received, [vec![0, 3], vec![1, 2]]);
}

#[test]
fn try_send_to_one_reports_full_over_disconnected() {
    let (mut members, group) = members(2, 1);
    drop(members.remove(0).future);
    members[0].actor_ref.try_send(1u32).unwrap();
    assert_eq!(
        group.try_send_to_one(2u32),
        Err(SendError::Full(Job::Work(2)))
    );
}

#[test]
fn try_send_to_one_fails_with_disconnected_when_no_member_is_left() {
    let empty = ActorGroup::<Job>::empty();
    assert_eq!(
        empty.try_send_to_one(1u32),
        Err(SendError::Disconnected(Job::Work(1)))
    );
    assert_eq!(
        block_on(empty.send_to_one(2u32)),
        Err(SendError::Disconnected(Job::Work(2)))
    );

    let (members, group) = members(2, 4);
    drop(members);
    assert_eq!(
        group.try_send_to_one(3u32),
        Err(SendError::Disconnected(Job::Work(3)))
    );
    assert_eq!(
        block_on(group.send_to_one(4u32)),
        Err(SendError::Disconnected(Job::Work(4)))
    );
}

#[test]
fn send_to_one_completes_at_once_when_a_member_has_room() {
    let (mut members, group) = members(2, 1);
    members[0].actor_ref.try_send(100u32).unwrap();
    assert_eq!(
        poll_once(pin!(group.send_to_one(1u32)).as_mut()),
        Poll::Ready(Ok(()))
    );
    drop(group);
    let second = members.pop().unwrap().finish();
    let first = members.pop().unwrap().finish();
    assert_eq!((first, second), (vec![100], vec![1]));
}

#[test]
fn send_to_one_waits_while_every_member_is_full() {
    let (mut members, group) = members(2, 1);
    members[0].actor_ref.try_send(100u32).unwrap();
    members[1].actor_ref.try_send(200u32).unwrap();

    {
        let mut send = pin!(group.send_to_one(7u32));
        assert!(poll_once(send.as_mut()).is_pending());
        assert!(poll_once(send.as_mut()).is_pending());
        // The members take their messages: there is room now.
        for member in &mut members {
            assert!(member.poll().is_pending());
        }
        assert_eq!(poll_once(send.as_mut()), Poll::Ready(Ok(())));
    }

    drop(group);
    let mut received: Vec<u32> = members.into_iter().flat_map(Member::finish).collect();
    received.sort_unstable();
    assert_eq!(received, [7, 100, 200]);
}

#[test]
fn try_send_to_all_counts_the_members_that_received() {
    let (mut members, group) = members(4, 1);
    assert_eq!(group.try_send_to_all(1u32), 4);
    // Full members do not count.
    assert_eq!(group.try_send_to_all(2u32), 0);
    for member in &mut members {
        assert!(member.poll().is_pending());
    }
    // Neither do stopped ones.
    drop(members.remove(3).future);
    assert_eq!(group.try_send_to_all(3u32), 3);

    drop(group);
    let received: Vec<Vec<u32>> = members.into_iter().map(Member::finish).collect();
    assert_eq!(received, [vec![1, 3], vec![1, 3], vec![1, 3]]);
}

#[test]
fn join_all_waits_for_every_member() {
    let (mut members, group) = members(3, 4);
    let mut join = pin!(group.join_all());
    assert!(poll_once(join.as_mut()).is_pending());

    // Stop them one by one, last member first.
    let mut last = members.pop().unwrap();
    last.actor_ref.try_send(Job::Stop).unwrap();
    assert!(last.poll().is_ready());
    assert!(poll_once(join.as_mut()).is_pending());

    drop(members.remove(0).future); // Cancelled counts as stopped too.
    assert!(poll_once(join.as_mut()).is_pending());

    let mut middle = members.pop().unwrap();
    middle.actor_ref.try_send(Job::Stop).unwrap();
    assert!(middle.poll().is_ready());
    assert_eq!(poll_once(join.as_mut()), Poll::Ready(()));

    assert_eq!(
        poll_once(pin!(ActorGroup::<Job>::empty().join_all()).as_mut()),
        Poll::Ready(())
    );
}

#[test]
fn join_all_wakes_when_members_on_other_threads_stop() {
    let (members, group) = members(3, 4);
    let threads: Vec<_> = members
        .into_iter()
        .map(|member| std::thread::spawn(move || block_on(member.future)))
        .collect();
    assert_eq!(group.try_send_to_all(Job::Stop), 3);
    block_on(group.join_all());
    for actor_ref in group.actors() {
        assert!(!actor_ref.is_connected());
    }
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn send_to_one_waits_for_a_live_member_when_another_has_stopped() {
    let (mut members, group) = members(2, 1);
    members[0].actor_ref.try_send(100u32).unwrap();
    drop(members.remove(1).future);

    {
        // Member 0 is full and member 1 is gone: wait for member 0.
        let mut send = pin!(group.send_to_one(7u32));
        assert!(poll_once(send.as_mut()).is_pending());
        assert!(members[0].poll().is_pending());
        assert_eq!(poll_once(send.as_mut()), Poll::Ready(Ok(())));
    }
    // Whichever member the round robin would pick next.
    for _ in 0..3 {
        let mut send = pin!(group.send_to_one(8u32));
        assert!(poll_once(send.as_mut()).is_pending());
    }

    drop(group);
    let member = members.pop().unwrap();
    assert_eq!(member.finish(), [100, 7]);
}
