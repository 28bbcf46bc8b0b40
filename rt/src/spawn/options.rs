//! Options for spawning actors, synchronous actors and futures.

use std::cmp::Ordering;
use std::fmt;

use kiln::InboxSize;

/// The priority of a process: how the local and shared schedulers weigh the
/// time it runs (see the `scheduler` module). A process with `HIGH`
/// priority is charged a third of the time a `LOW` one is for the same run,
/// so it runs more often when both are ready.
///
/// Priorities compare by urgency, as in Heph: `HIGH > NORMAL > LOW`, so the
/// [`max`](Ord::max) of several is the most urgent, and sorting puts `LOW`
/// first.
///
/// ```
/// use kiln_rt::Priority;
///
/// assert!(Priority::HIGH > Priority::NORMAL);
/// assert!(Priority::NORMAL > Priority::LOW);
/// let priorities = [Priority::NORMAL, Priority::HIGH, Priority::LOW];
/// assert_eq!(priorities.iter().max(), Some(&Priority::HIGH));
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Priority(
    /// The factor a run time is scaled by, in tenths: the *smaller*, the
    /// more urgent. Not `Ord`'s order: see the `Ord` impl.
    u8,
);

impl Priority {
    /// Low priority: run time counts 1.5 times.
    pub const LOW: Priority = Priority(15);
    /// The default.
    pub const NORMAL: Priority = Priority(10);
    /// High priority: run time counts half.
    pub const HIGH: Priority = Priority(5);

    /// Scales a run time (in nanoseconds) by the priority.
    pub(crate) const fn scale(self, nanos: u64) -> u64 {
        nanos.saturating_mul(self.0 as u64) / Priority::NORMAL.0 as u64
    }
}

/// By urgency: `HIGH > NORMAL > LOW`.
// The derived order (of the scale factor) was the reverse (issue 14); the
// scheduler only uses `Priority::scale`, never this order.
impl Ord for Priority {
    fn cmp(&self, other: &Priority) -> Ordering {
        // A smaller factor is more urgent.
        other.0.cmp(&self.0)
    }
}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Priority) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Priority::LOW => f.write_str("LOW"),
            Priority::NORMAL => f.write_str("NORMAL"),
            Priority::HIGH => f.write_str("HIGH"),
            // The field is private: only the constants exist.
            Priority(factor) => f.debug_tuple("Priority").field(&factor).finish(),
        }
    }
}

impl Default for Priority {
    fn default() -> Priority {
        Priority::NORMAL
    }
}

/// Options for spawning an actor.
#[derive(Copy, Clone, Debug, Default)]
#[must_use]
pub struct ActorOptions {
    priority: Priority,
    inbox_size: InboxSize,
}

impl ActorOptions {
    /// Sets the actor's priority.
    pub const fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the size of the actor's inbox.
    pub const fn with_inbox_size(mut self, inbox_size: InboxSize) -> Self {
        self.inbox_size = inbox_size;
        self
    }

    /// The actor's priority.
    pub const fn priority(&self) -> Priority {
        self.priority
    }

    /// The size of the actor's inbox.
    pub const fn inbox_size(&self) -> InboxSize {
        self.inbox_size
    }
}

/// Options for spawning a future.
#[derive(Copy, Clone, Debug, Default)]
#[must_use]
pub struct FutureOptions {
    priority: Priority,
}

impl FutureOptions {
    /// Sets the future's priority.
    pub const fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// The future's priority.
    pub const fn priority(&self) -> Priority {
        self.priority
    }
}

/// Options for spawning a synchronous actor.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct SyncActorOptions {
    thread_name: Option<String>,
    inbox_size: InboxSize,
}

impl SyncActorOptions {
    /// Sets the name of the actor's thread; the default is the actor's name.
    pub fn with_thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = Some(name.into());
        self
    }

    /// Sets the size of the actor's inbox.
    pub const fn with_inbox_size(mut self, inbox_size: InboxSize) -> Self {
        self.inbox_size = inbox_size;
        self
    }

    /// The name of the actor's thread, if set.
    pub fn thread_name(&self) -> Option<&str> {
        self.thread_name.as_deref()
    }

    /// The size of the actor's inbox.
    pub const fn inbox_size(&self) -> InboxSize {
        self.inbox_size
    }
}
