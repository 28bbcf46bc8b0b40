//! The capacity limits of an inbox.

/// Smallest capacity of an inbox.
pub const MIN_CAPACITY: usize = 1;
/// Largest capacity of an inbox.
pub const MAX_CAPACITY: usize = 65_536;
/// Capacity to use when there is no reason to pick another.
pub const DEFAULT_CAPACITY: usize = 8;
