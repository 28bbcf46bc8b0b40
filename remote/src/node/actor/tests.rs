//! The one-link-per-pair rule: both nodes keep the same link.

use super::replaces;

/// The link a node keeps of `links` (run, initiator), coming up in that
/// order.
fn kept<'a>(links: &[(u64, &'a str)]) -> (u64, &'a str) {
    let mut kept = links[0];
    for &link in &links[1..] {
        if replaces(link, kept) {
            kept = link;
        }
    }
    kept
}

#[test]
fn both_nodes_keep_the_same_of_two_links_in_any_order() {
    // node-a and node-b dial each other at once: one link each way, both
    // to the same runs.
    let by_a = (7, "node-a");
    let by_b = (7, "node-b");
    let orders = [[by_a, by_b], [by_b, by_a]];
    for at_a in orders {
        for at_b in orders {
            assert_eq!(
                kept(&at_a),
                kept(&at_b),
                "{at_a:?} at node-a, {at_b:?} at node-b"
            );
            assert_eq!(kept(&at_a), by_a, "the smaller name's link stays");
        }
    }
}

#[test]
fn a_link_to_a_newer_run_replaces_the_old_one() {
    // node-b restarted (run 8): its link replaces the one to run 7, whoever
    // dialled either.
    assert!(replaces((8, "node-b"), (7, "node-a")));
    assert!(replaces((8, "node-z"), (7, "node-a")));
    assert!(!replaces((7, "node-a"), (8, "node-b")));
    // The same link does not replace itself.
    assert!(!replaces((7, "node-a"), (7, "node-a")));
}
