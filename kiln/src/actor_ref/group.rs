//! [`ActorGroup`]: a group of actors that receive messages of one type.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{self, Poll};

use crate::actor_ref::{ActorRef, Join, SendError, SendValue};

/// A group of actors that accept the same message type, e.g. a pool of
/// workers.
///
/// [`try_send_to_one`](ActorGroup::try_send_to_one) and
/// [`send_to_one`](ActorGroup::send_to_one) pick members round robin;
/// [`try_send_to_all`](ActorGroup::try_send_to_all) sends a clone to every
/// member.
pub struct ActorGroup<M> {
    actors: Vec<ActorRef<M>>,
    /// Index of the member the next `*_to_one` starts with.
    next: AtomicUsize,
}

impl<M> ActorGroup<M> {
    /// An empty group.
    pub const fn empty() -> ActorGroup<M> {
        ActorGroup {
            actors: Vec::new(),
            next: AtomicUsize::new(0),
        }
    }

    /// A group of the given actors.
    pub fn new<I: IntoIterator<Item = ActorRef<M>>>(actors: I) -> ActorGroup<M> {
        ActorGroup {
            actors: actors.into_iter().collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.actors.len()
    }

    /// Returns `true` if the group has no members.
    pub fn is_empty(&self) -> bool {
        self.actors.is_empty()
    }

    /// The members.
    pub fn actors(&self) -> &[ActorRef<M>] {
        &self.actors
    }

    /// Adds an actor.
    pub fn add(&mut self, actor_ref: ActorRef<M>) {
        self.actors.push(actor_ref);
    }

    /// Adds an actor unless the group already has a reference to it; returns
    /// `true` if it was added.
    pub fn add_unique(&mut self, actor_ref: ActorRef<M>) -> bool {
        if self.actors.iter().any(|a| a.sends_to(&actor_ref)) {
            false
        } else {
            self.actors.push(actor_ref);
            true
        }
    }

    /// Removes the references to an actor that is already in the group,
    /// keeping the first reference to each actor in its place; returns how
    /// many were removed. A reference mapped to another message type counts
    /// as the same actor.
    ///
    /// Use it after [`add`](ActorGroup::add) or [`extend`](Extend::extend)
    /// so that [`try_send_to_all`](ActorGroup::try_send_to_all) sends one
    /// message per actor. It takes time linear in the group's size.
    ///
    /// ```
    /// # use kiln::actor_ref::ActorGroup;
    /// # async fn actor(_: kiln::actor::Context<u32>) {}
    /// # let new = || kiln::ActorFuture::new(kiln::supervisor::NoSupervisor, kiln::actor_fn(actor), ());
    /// # let ((_f1, a), (_f2, b)) = (new(), new());
    /// let mut group = ActorGroup::new([a.clone(), b.clone(), a.clone(), a, b]);
    /// assert_eq!(group.make_unique(), 3);
    /// assert_eq!(group.len(), 2);
    /// ```
    pub fn make_unique(&mut self) -> usize {
        let before = self.actors.len();
        let mut seen = HashSet::with_capacity(before);
        self.actors
            .retain(|actor_ref| seen.insert(actor_ref.inbox_id()));
        before - self.actors.len()
    }

    /// Removes every reference to the same actor as `actor_ref`; returns how
    /// many were removed.
    pub fn remove<N>(&mut self, actor_ref: &ActorRef<N>) -> usize {
        let before = self.actors.len();
        self.actors.retain(|a| !a.sends_to(actor_ref));
        before - self.actors.len()
    }

    /// Removes the actors that have stopped; returns how many were removed.
    pub fn remove_disconnected(&mut self) -> usize {
        let before = self.actors.len();
        self.actors.retain(ActorRef::is_connected);
        before - self.actors.len()
    }

    /// The index of the member to start the next round-robin send with.
    fn next_index(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.actors.len()
    }

    /// Sends `msg` to one member without waiting.
    ///
    /// Members are picked round robin. If the chosen member's inbox is full,
    /// or it has stopped, the next members are tried before giving up. Fails
    /// with [`SendError::Full`] if some member was full, otherwise with
    /// [`SendError::Disconnected`] (also for an empty group); both give the
    /// message back.
    pub fn try_send_to_one<Msg: Into<M>>(&self, msg: Msg) -> Result<(), SendError<M>> {
        let mut msg = msg.into();
        if self.actors.is_empty() {
            return Err(SendError::Disconnected(msg));
        }
        let start = self.next_index();
        let mut any_full = false;
        for i in 0..self.actors.len() {
            let actor_ref = &self.actors[(start + i) % self.actors.len()];
            match actor_ref.try_send(msg) {
                Ok(()) => return Ok(()),
                Err(SendError::Full(m)) => {
                    any_full = true;
                    msg = m;
                }
                Err(SendError::Disconnected(m)) => msg = m,
                Err(err) => return Err(err),
            }
        }
        Err(if any_full {
            SendError::Full(msg)
        } else {
            SendError::Disconnected(msg)
        })
    }

    /// Sends `msg` to one member, waiting if every member's inbox is full.
    ///
    /// Tries every member like [`try_send_to_one`](ActorGroup::try_send_to_one);
    /// if all are full it waits for the round-robin pick. Fails with
    /// [`SendError::Disconnected`] if no member accepts messages any more.
    pub fn send_to_one<Msg: Into<M>>(&self, msg: Msg) -> SendToOne<'_, M> {
        let state = match self.try_send_to_one(msg) {
            Err(SendError::Full(msg)) => {
                // Wait for the round-robin pick, or the first member after
                // it that has not stopped: some member was full, not gone.
                let start = self.next_index();
                let len = self.actors.len();
                let actor_ref = (0..len)
                    .map(|i| &self.actors[(start + i) % len])
                    .find(|actor_ref| actor_ref.is_connected())
                    .unwrap_or(&self.actors[start]);
                SendToOneState::Waiting(actor_ref.send(msg))
            }
            result => SendToOneState::Done(Some(result)),
        };
        SendToOne { state }
    }

    /// Sends a clone of `msg` to every member without waiting; returns how
    /// many members received it.
    pub fn try_send_to_all<Msg: Into<M>>(&self, msg: Msg) -> usize
    where
        M: Clone,
    {
        let msg = msg.into();
        self.actors
            .iter()
            .filter(|actor_ref| actor_ref.try_send(msg.clone()).is_ok())
            .count()
    }

    /// Waits until every member has stopped.
    pub fn join_all(&self) -> JoinAll<'_, M> {
        JoinAll {
            group: self,
            index: 0,
            current: None,
        }
    }
}

impl<M> Default for ActorGroup<M> {
    fn default() -> ActorGroup<M> {
        ActorGroup::empty()
    }
}

impl<M> Clone for ActorGroup<M> {
    fn clone(&self) -> ActorGroup<M> {
        ActorGroup {
            actors: self.actors.clone(),
            next: AtomicUsize::new(self.next.load(Ordering::Relaxed)),
        }
    }
}

impl<M> From<ActorRef<M>> for ActorGroup<M> {
    fn from(actor_ref: ActorRef<M>) -> ActorGroup<M> {
        ActorGroup::new([actor_ref])
    }
}

impl<M> FromIterator<ActorRef<M>> for ActorGroup<M> {
    fn from_iter<I: IntoIterator<Item = ActorRef<M>>>(iter: I) -> ActorGroup<M> {
        ActorGroup::new(iter)
    }
}

impl<M> Extend<ActorRef<M>> for ActorGroup<M> {
    fn extend<I: IntoIterator<Item = ActorRef<M>>>(&mut self, iter: I) {
        self.actors.extend(iter);
    }
}

impl<M> fmt::Debug for ActorGroup<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorGroup")
            .field("actors", &self.actors)
            .finish()
    }
}

/// The future returned by [`ActorGroup::send_to_one`].
#[must_use = "futures do nothing unless polled"]
pub struct SendToOne<'g, M> {
    state: SendToOneState<'g, M>,
}

enum SendToOneState<'g, M> {
    Waiting(SendValue<'g, M>),
    Done(Option<Result<(), SendError<M>>>),
}

// Nothing in `SendToOne` is structurally pinned.
impl<M> Unpin for SendToOne<'_, M> {}

impl<M> Future for SendToOne<'_, M> {
    type Output = Result<(), SendError<M>>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            SendToOneState::Waiting(send) => Pin::new(send).poll(cx),
            SendToOneState::Done(result) => Poll::Ready(result.take().unwrap_or(Ok(()))),
        }
    }
}

impl<M> fmt::Debug for SendToOne<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendToOne")
    }
}

/// The future returned by [`ActorGroup::join_all`].
#[must_use = "futures do nothing unless polled"]
pub struct JoinAll<'g, M> {
    group: &'g ActorGroup<M>,
    /// Index of the next member to join.
    index: usize,
    current: Option<Join<'g, M>>,
}

impl<M> Future for JoinAll<'_, M> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            if let Some(join) = this.current.as_mut() {
                match Pin::new(join).poll(cx) {
                    Poll::Ready(_) => this.current = None,
                    Poll::Pending => return Poll::Pending,
                }
            }
            match this.group.actors.get(this.index) {
                Some(actor_ref) => {
                    this.index += 1;
                    this.current = Some(actor_ref.join());
                }
                None => return Poll::Ready(()),
            }
        }
    }
}

impl<M> fmt::Debug for JoinAll<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("joined", &self.index.saturating_sub(1))
            .finish()
    }
}
