//! Tests of the thread ring's checks: each actor's token, and the count at
//! the end.

use std::time::Instant;

use super::{RING, Step, check_hops, step};

#[test]
fn tokens_are_passed_on_until_the_last_hop() {
    assert_eq!(step(0, 100_000, 0), Step::Pass(1));
    assert_eq!(step(999, 100_000, 99_999), Step::Pass(100_000));
    assert_eq!(step(0, 100_000, 100_000), Step::Done);
}

#[test]
fn a_token_at_the_wrong_actor_fails() {
    // A hop skipped (token 5 at actor 6) or made twice (token 5 at actor 4).
    for index in [6, 4] {
        let Step::Wrong(err) = step(index, 100_000, 5) else {
            panic!("actor {index} took token 5");
        };
        assert!(err.contains("token 5"), "{err}");
    }
    assert!(matches!(step(0, 100_000, RING + 1), Step::Wrong(_)));
}

#[test]
fn the_reported_count_must_be_the_hops() {
    assert!(check_hops(100_000, 100_000, Instant::now()).is_ok());
    let err = check_hops(100_000, 99_000, Instant::now()).unwrap_err();
    assert!(err.contains("99000"), "{err}");
}
