//! A simulation of membership: 100 members in one thread on a virtual
//! clock, each a `kiln_remote::membership::Membership` (foca), packets
//! delivered after a simulated latency. Measures how long the cluster takes
//! to converge after everyone joins through one seed, and how long the
//! others take to declare a member dead after it stops answering.
//!
//! `cargo test -p kiln-remote --test membership_sim -- --nocapture` prints
//! the figures (quoted in docs/architecture.md).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kiln_remote::membership::{Change, MemberId, Membership, Timing};

const MEMBERS: usize = 100;
const LATENCY: Duration = Duration::from_millis(1);
const STEP: Duration = Duration::from_millis(5);

struct Sim {
    members: Vec<Membership>,
    /// Who each member sees as live.
    views: Vec<HashSet<String>>,
    /// Members that stopped answering.
    dead: HashSet<usize>,
    /// Packets in flight: (due, sequence) → (to, packet).
    wire: BTreeMap<(Instant, u64), (usize, Vec<u8>)>,
    sequence: u64,
    now: Instant,
    start: Instant,
}

fn id(i: usize) -> MemberId {
    MemberId {
        name: format!("node-{i:03}"),
        address: SocketAddr::from(([127, 0, 0, 1], 7000 + i as u16)),
        incarnation: 1,
    }
}

fn index(member: &MemberId) -> usize {
    member.name[5..].parse().unwrap()
}

impl Sim {
    fn new(timing: Timing) -> Sim {
        let start = Instant::now();
        let members = (0..MEMBERS)
            .map(|i| Membership::new(id(i), timing, i as u64 + 1, start))
            .collect();
        Sim {
            members,
            views: vec![HashSet::new(); MEMBERS],
            dead: HashSet::new(),
            wire: BTreeMap::new(),
            sequence: 0,
            now: start,
            start,
        }
    }

    /// Moves what member `i` produced onto the wire and into its view.
    fn drain(&mut self, i: usize) {
        while let Some((to, packet)) = self.members[i].next_packet() {
            self.sequence += 1;
            self.wire
                .insert((self.now + LATENCY, self.sequence), (index(&to), packet));
        }
        while let Some(change) = self.members[i].next_change() {
            match change {
                Change::Up(member) => self.views[i].insert(member.name),
                Change::Down(member) => self.views[i].remove(&member.name),
            };
        }
    }

    /// Runs the clock forward by one step.
    fn step(&mut self) {
        self.now += STEP;
        while let Some(entry) = self.wire.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let (to, packet) = entry.remove();
            if self.dead.contains(&to) {
                continue;
            }
            self.members[to].receive(&packet, self.now);
            self.drain(to);
        }
        for i in 0..MEMBERS {
            if self.dead.contains(&i) {
                continue;
            }
            self.members[i].tick(self.now);
            self.drain(i);
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Runs until `done` holds or `limit` of virtual time passed; returns
    /// the virtual time it took.
    fn until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) -> Option<Duration> {
        let from = self.now;
        while !done(self) {
            if self.now - from > limit {
                return None;
            }
            self.step();
        }
        Some(self.now - from)
    }
}

#[test]
fn hundred_members_converge_and_detect_a_failure() {
    let timing = Timing {
        probe_period: Duration::from_millis(1000),
        probe_timeout: Duration::from_millis(500),
        suspect_timeout: Duration::from_secs(3),
    };
    let mut sim = Sim::new(timing);
    // Everyone joins through member 0.
    for i in 1..MEMBERS {
        let now = sim.now;
        sim.members[i].announce(id(0), now);
        sim.drain(i);
    }
    let converged = sim
        .until(Duration::from_secs(120), |sim| {
            sim.views.iter().all(|view| view.len() == MEMBERS - 1)
        })
        .expect("100 members did not converge within 120 s of virtual time");

    // Member 42 stops answering (kill -9).
    let victim = 42;
    sim.dead.insert(victim);
    let name = id(victim).name;
    let first = sim
        .until(Duration::from_secs(60), |sim| {
            sim.views
                .iter()
                .enumerate()
                .any(|(i, view)| i != victim && !view.contains(&name))
        })
        .expect("nobody declared the dead member down");
    let rest = sim
        .until(Duration::from_secs(60), |sim| {
            sim.views
                .iter()
                .enumerate()
                .all(|(i, view)| i == victim || !view.contains(&name))
        })
        .expect("not everyone declared the dead member down within 60 s");
    let all = first + rest;
    println!(
        "membership simulation: {MEMBERS} members, probe period {:?}, suspect timeout {:?}: \
         converged in {converged:?} after joining through one seed; a dead member declared \
         down by the first member after {first:?}, by all {} others after {all:?} \
         (virtual time {:?})",
        timing.probe_period,
        timing.suspect_timeout,
        MEMBERS - 1,
        sim.elapsed()
    );
    // Detection: the first probe of the dead member comes within a round of
    // probes; then suspicion, then dissemination.
    assert!(all < Duration::from_secs(30), "detection took {all:?}");
}
