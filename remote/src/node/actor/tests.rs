//! The one-link-per-pair rule: the deciding node keeps one link per run
//! of its peer, and the other node keeps what the decider kept.

use super::replaces;

/// The links a node keeps of `links` (the run of the peer each is to),
/// coming up in that order, each replacing or not the one kept so far.
fn kept(links: &[u64], decides: bool) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    for (index, &run) in links.iter().enumerate() {
        match kept.last() {
            Some(&current) if !replaces(run, links[current], decides) => {}
            _ => kept.push(index),
        }
    }
    kept
}

#[test]
fn the_decider_keeps_the_first_of_two_links_to_one_run() {
    // node-a (smaller name, decides) and node-b dial each other at once:
    // two links to the same runs, in either order. The first stays; the
    // second is refused before anything is sent on it, whichever it is.
    assert_eq!(kept(&[7, 7], true), [0]);
    // node-b only hears of the link node-a accepted, and takes it.
    assert_eq!(kept(&[7], false), [0]);
}

#[test]
fn the_other_node_takes_the_link_the_decider_accepted() {
    // The decider accepts a second link to a run only once its end of the
    // first has ended; the other node may not have seen its end end yet.
    assert!(replaces(7, 7, false));
    assert!(!replaces(7, 7, true));
}

#[test]
fn a_link_to_a_newer_run_replaces_the_old_one() {
    // node-b restarted (run 8): its link replaces the one to run 7 on
    // both nodes; a late link of an old run never replaces a newer one.
    for decides in [true, false] {
        assert!(replaces(8, 7, decides));
        assert!(!replaces(7, 8, decides));
        assert_eq!(kept(&[7, 8, 7], decides), [0, 1]);
    }
}
