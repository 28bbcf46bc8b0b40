//! Membership: who is in the cluster, by SWIM (through [foca]).
//!
//! [`Membership`] wraps a foca instance with what foca leaves to its user:
//! a timer queue (foca asks for timers; the node actor sleeps on a kiln
//! timer until the first is due), the packets to send (the node actor puts
//! each in a `Swim` frame on the link to its member: membership data
//! travels only over authenticated links, so no packet without the
//! cluster's credentials changes membership) and the changes to report.
//! Time is passed in, so the simulation in `tests/membership_sim.rs`
//! runs 100 members in one thread on a virtual clock.
//!
//! foca was chosen because it implements SWIM with its extensions
//! (suspicion, infection-style dissemination, periodic gossip and
//! announcements), is transport- and runtime-agnostic (no tokio), has no
//! unsafe code, and renews identities, so a member wrongly declared down,
//! or a restarted one, rejoins with a higher incarnation.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::{NonZeroU8, NonZeroUsize};
use std::time::{Duration, Instant};

use foca::{
    AccumulatingRuntime, Foca, NoCustomBroadcast, OwnedNotification, PeriodicParams, PostcardCodec,
};
use log::{debug, warn};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// A member as SWIM knows it: its name (what identifies it), where it
/// listens, and the run of it (a restarted node has a larger incarnation,
/// and replaces the old one).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberId {
    /// The node's name.
    pub name: String,
    /// Where it listens for links.
    pub address: SocketAddr,
    /// Its run: larger for a later run.
    pub incarnation: u64,
}

impl foca::Identity for MemberId {
    type Addr = String;

    fn renew(&self) -> Option<Self> {
        Some(MemberId {
            incarnation: self.incarnation.wrapping_add(1),
            ..self.clone()
        })
    }

    fn addr(&self) -> String {
        self.name.clone()
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.incarnation > adversary.incarnation
    }
}

/// SWIM's timings; see [`Config`](crate::Config)'s `with_probe_*` and
/// `with_suspect_timeout`.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// How often a member probes another.
    pub probe_period: Duration,
    /// How long a probe waits before asking others to probe indirectly.
    pub probe_timeout: Duration,
    /// How long a suspect has to refute before it is declared down.
    pub suspect_timeout: Duration,
}

/// A change of membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A member is up (new, or a new run of it).
    Up(MemberId),
    /// A member was declared down, or left.
    Down(MemberId),
}

type Swim = Foca<MemberId, PostcardCodec, StdRng, NoCustomBroadcast>;

/// See the [module documentation](self).
pub struct Membership {
    foca: Swim,
    runtime: AccumulatingRuntime<MemberId>,
    /// Foca's timers by due time (and a sequence number for ties).
    timers: BTreeMap<(Instant, u64), foca::Timer<MemberId>>,
    sequence: u64,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("identity", self.foca.identity())
            .field("members", &self.foca.num_members())
            .finish()
    }
}

impl Membership {
    /// Membership of `identity`, alone until it announces itself or is
    /// announced to; `seed` seeds its random choices.
    pub fn new(identity: MemberId, timing: Timing, seed: u64, now: Instant) -> Membership {
        let mut config = foca::Config::simple();
        config.probe_period = timing.probe_period;
        config.probe_rtt = timing.probe_timeout;
        config.suspect_to_down_after = timing.suspect_timeout;
        config.num_indirect_probes = NonZeroUsize::new(3).expect("3 > 0");
        config.max_transmissions = NonZeroU8::new(10).expect("10 > 0");
        // Frames are not datagrams: room for many updates per packet.
        config.max_packet_size = NonZeroUsize::new(16 * 1024).expect("16 KiB > 0");
        config.notify_down_members = true;
        config.periodic_gossip = Some(PeriodicParams {
            frequency: Duration::from_millis(200),
            num_members: NonZeroUsize::new(3).expect("3 > 0"),
        });
        // Heals partitions: members that lost each other meet again.
        config.periodic_announce = Some(PeriodicParams {
            frequency: Duration::from_secs(10),
            num_members: NonZeroUsize::new(1).expect("1 > 0"),
        });
        let foca = Foca::new(identity, config, StdRng::seed_from_u64(seed), PostcardCodec);
        let mut membership = Membership {
            foca,
            runtime: AccumulatingRuntime::new(),
            timers: BTreeMap::new(),
            sequence: 0,
        };
        // Starts the periodic timers.
        if let Err(err) = membership.foca.gossip(&mut membership.runtime) {
            debug!("SWIM: first gossip: {err}");
        }
        membership.collect(now);
        membership
    }

    /// This member's identity (renewed if it was declared down).
    pub fn identity(&self) -> &MemberId {
        self.foca.identity()
    }

    /// The live members, this one excluded.
    pub fn members(&self) -> impl Iterator<Item = &MemberId> {
        self.foca.iter_members().map(foca::Member::id)
    }

    /// Asks `member` to let this one join.
    pub fn announce(&mut self, member: MemberId, now: Instant) {
        if let Err(err) = self.foca.announce(member, &mut self.runtime) {
            debug!("SWIM: can't announce: {err}");
        }
        self.collect(now);
    }

    /// Takes a packet from another member. A packet foca can't read is
    /// logged and dropped; it changes nothing.
    pub fn receive(&mut self, packet: &[u8], now: Instant) {
        if let Err(err) = self.foca.handle_data(packet, &mut self.runtime) {
            warn!("SWIM: packet dropped: {err}");
        }
        self.collect(now);
    }

    /// Runs the timers due at `now`.
    pub fn tick(&mut self, now: Instant) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timer = entry.remove();
            if let Err(err) = self.foca.handle_timer(timer, &mut self.runtime) {
                debug!("SWIM: timer: {err}");
            }
            self.collect(now);
        }
    }

    /// When the next timer is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.keys().next().map(|&(at, _)| at)
    }

    /// Leaves the cluster: tells some members, who spread it.
    pub fn leave(&mut self, now: Instant) {
        if let Err(err) = self.foca.leave_cluster(&mut self.runtime) {
            debug!("SWIM: leaving: {err}");
        }
        self.collect(now);
    }

    /// The next packet to send, and to whom.
    pub fn next_packet(&mut self) -> Option<(MemberId, Vec<u8>)> {
        self.runtime.to_send().map(|(to, data)| (to, data.to_vec()))
    }

    /// The next membership change.
    pub fn next_change(&mut self) -> Option<Change> {
        while let Some(notification) = self.runtime.to_notify() {
            match notification {
                OwnedNotification::MemberUp(id) => return Some(Change::Up(id)),
                OwnedNotification::MemberDown(id) => return Some(Change::Down(id)),
                OwnedNotification::Rename(old, new) => {
                    debug!(
                        "SWIM: member '{}' renewed (run {} → {})",
                        new.name, old.incarnation, new.incarnation
                    );
                    return Some(Change::Up(new));
                }
                OwnedNotification::Defunct => {
                    warn!("SWIM: this node was declared down; rejoining under a new incarnation");
                }
                OwnedNotification::Rejoin(id) => {
                    debug!("SWIM: rejoined as incarnation {}", id.incarnation);
                }
                OwnedNotification::Active | OwnedNotification::Idle => {}
            }
        }
        None
    }

    /// Moves foca's timer requests into the queue.
    fn collect(&mut self, now: Instant) {
        while let Some((after, timer)) = self.runtime.to_schedule() {
            self.sequence += 1;
            self.timers.insert((now + after, self.sequence), timer);
        }
    }
}
