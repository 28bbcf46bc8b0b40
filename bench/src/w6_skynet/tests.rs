//! Tests of skynet's arithmetic: the children's ranges and the sum check.

use super::{FAN_OUT, check_sum, children, is_power_of_fan_out};

#[test]
fn the_right_sums_pass() {
    assert!(check_sum(1_000_000, 499_999_500_000).is_ok());
    assert!(check_sum(10_000, 49_995_000).is_ok());
}

#[test]
fn a_wrong_sum_fails() {
    // One leaf's number lost, one counted twice, and nothing at all.
    for wrong in [49_995_000 - 9_999, 49_995_000 + 17, 0] {
        let err = check_sum(10_000, wrong).unwrap_err();
        assert!(err.contains("49995000"), "{err}");
        assert!(err.contains(&wrong.to_string()), "{err}");
    }
}

#[test]
fn children_split_the_range() {
    let ranges: Vec<_> = children(3_000, 1_000).collect();
    assert_eq!(ranges.len() as u64, FAN_OUT);
    assert_eq!(ranges[0], (3_000, 100));
    assert_eq!(ranges[9], (3_900, 100));
}

#[test]
fn leaves_sum_to_the_expected_total() {
    // The tree walked without actors: what the actors must add up to.
    fn sum(num: u64, size: u64) -> u64 {
        if size == 1 {
            num
        } else {
            children(num, size).map(|(num, size)| sum(num, size)).sum()
        }
    }
    assert!(check_sum(10_000, sum(0, 10_000)).is_ok());
}

#[test]
fn tree_sizes_are_powers_of_ten() {
    assert!(is_power_of_fan_out(1));
    assert!(is_power_of_fan_out(10_000));
    assert!(!is_power_of_fan_out(0));
    assert!(!is_power_of_fan_out(20));
    assert!(!is_power_of_fan_out(1_001));
}
