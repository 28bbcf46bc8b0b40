//! Regression (issue 14, item 6): `Priority` orders by urgency, `HIGH > NORMAL > LOW`, as in
//! Heph. It used to derive `Ord` on its scale factor (HIGH 5, NORMAL 10, LOW 15), so
//! `Priority::HIGH > Priority::NORMAL` was false and the `max` of the three was `LOW`.

use std::cmp::Ordering;
use std::collections::HashSet;

use kiln_rt::Priority;

/// All priorities, most urgent first.
const ALL: [Priority; 3] = [Priority::HIGH, Priority::NORMAL, Priority::LOW];

#[test]
fn high_above_normal_above_low() {
    assert!(Priority::HIGH > Priority::NORMAL);
    assert!(Priority::NORMAL > Priority::LOW);
    assert!(Priority::HIGH > Priority::LOW);
    assert!(Priority::LOW < Priority::HIGH);
    assert_eq!(Priority::HIGH.cmp(&Priority::LOW), Ordering::Greater);
    assert_eq!(Priority::default(), Priority::NORMAL);
}

#[test]
fn max_min_and_sort() {
    assert_eq!(ALL.iter().max(), Some(&Priority::HIGH));
    assert_eq!(ALL.iter().min(), Some(&Priority::LOW));
    assert_eq!(Priority::LOW.max(Priority::NORMAL), Priority::NORMAL);
    assert_eq!(Priority::HIGH.min(Priority::NORMAL), Priority::NORMAL);
    let mut sorted = [
        Priority::NORMAL,
        Priority::HIGH,
        Priority::LOW,
        Priority::NORMAL,
    ];
    sorted.sort();
    assert_eq!(
        sorted,
        [
            Priority::LOW,
            Priority::NORMAL,
            Priority::NORMAL,
            Priority::HIGH
        ]
    );
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        sorted,
        [
            Priority::HIGH,
            Priority::NORMAL,
            Priority::NORMAL,
            Priority::LOW
        ]
    );
}

#[test]
fn order_agrees_with_eq_and_hash() {
    for (i, a) in ALL.iter().enumerate() {
        for (j, b) in ALL.iter().enumerate() {
            // `ALL` is most urgent first: a smaller index is greater.
            assert_eq!(a.cmp(b), j.cmp(&i), "{a:?} vs {b:?}");
            assert_eq!(a.partial_cmp(b), Some(a.cmp(b)));
            assert_eq!(a == b, a.cmp(b) == Ordering::Equal);
        }
    }
    let set: HashSet<Priority> = ALL.iter().chain(&ALL).copied().collect();
    assert_eq!(set.len(), 3);
}

#[test]
fn debug_names_the_priority() {
    assert_eq!(format!("{:?}", ALL), "[HIGH, NORMAL, LOW]");
}
