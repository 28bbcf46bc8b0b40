//! [`MemoryBudget`]: bytes that many connections share for the buffers
//! they hold, so that together they stay bounded; see the type for why and
//! what it counts.
//!
//! One atomic counter, shared by every thread: a growth is one
//! compare-and-swap, and buffers grow by doubling, so a connection's
//! buffers touch it a few times, not on every receive.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A number of bytes shared by the [`Reservation`]s made from it; cheap to
/// clone (all clones share the budget).
///
/// A server bounds each connection (a longest line, a largest command),
/// but not the sum: each of a thousand clients may send most of a largest
/// command and stop, and the process holds a thousand of them. With a
/// budget, every connection grows its buffers through its
/// [`Reservation`]; a growth that would take the total past the limit
/// fails with [`BudgetExceeded`] (the connection answers with an error and
/// closes, say) instead of allocating.
///
/// The budget counts the capacity of the buffers grown through it, not
/// what the allocator keeps around them, nor the kernel's socket buffers:
/// the process's resident memory is the budget plus what the rest of it
/// uses plus what the allocator keeps cached for reuse. A buffer grown by
/// doubling ([`Reservation::try_reserve`]) leaves each smaller copy it
/// outgrew to the allocator, which glibc keeps resident in its per-thread
/// arenas: in kiln-stress's `tcp_abuse` scenario, blobs held that way
/// peaked at up to 1.9 times the budget, and held in fixed-size chunks
/// (each taken with [`Reservation::try_grow`] before it is allocated) at
/// most 6.5 MiB above it (see `RELIABILITY.md`). Hold large data in chunks
/// where resident memory must stay near the budget.
///
/// ```
/// use kiln_rt::net::MemoryBudget;
///
/// let budget = MemoryBudget::new(64 * 1024);
/// let mut connection = budget.reservation();
/// let mut input = Vec::new();
/// connection.try_reserve(&mut input, 16 * 1024).unwrap();
/// assert!(input.capacity() >= 16 * 1024);
/// assert_eq!(budget.used(), input.capacity());
///
/// // Past the limit: refused, and nothing allocated.
/// let mut huge = Vec::new();
/// let err = connection.try_reserve(&mut huge, 1024 * 1024).unwrap_err();
/// assert_eq!(huge.capacity(), 0);
/// println!("{err}"); // memory budget exceeded: 1048576 more bytes asked for, ...
///
/// // Given back when dropped.
/// drop(connection);
/// assert_eq!(budget.used(), 0);
/// ```
#[derive(Clone)]
pub struct MemoryBudget {
    shared: Arc<Shared>,
}

/// What the clones of a budget share.
struct Shared {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    /// A budget of `limit` bytes, none used.
    pub fn new(limit: usize) -> MemoryBudget {
        MemoryBudget {
            shared: Arc::new(Shared {
                limit,
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// The most bytes the reservations may hold together.
    pub fn limit(&self) -> usize {
        self.shared.limit
    }

    /// The bytes the reservations hold now.
    pub fn used(&self) -> usize {
        self.shared.used.load(Ordering::Acquire)
    }

    /// The bytes left.
    pub fn available(&self) -> usize {
        self.limit().saturating_sub(self.used())
    }

    /// A reservation holding nothing yet, for one user of the budget (a
    /// connection).
    pub fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            bytes: 0,
        }
    }

    /// Takes `bytes` if the total stays within the limit.
    fn try_take(&self, bytes: usize) -> Result<(), BudgetExceeded> {
        let limit = self.shared.limit;
        self.shared
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= limit)
            })
            .map(drop)
            .map_err(|used| BudgetExceeded {
                asked: bytes,
                available: limit.saturating_sub(used),
                limit,
            })
    }

    /// Takes `bytes` whatever the total: memory that exists already.
    fn take(&self, bytes: usize) {
        self.shared.used.fetch_add(bytes, Ordering::AcqRel);
    }

    fn give_back(&self, bytes: usize) {
        self.shared.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("used", &self.used())
            .field("limit", &self.limit())
            .finish()
    }
}

/// One user's share of a [`MemoryBudget`]: the bytes it holds, given back
/// when it is dropped.
///
/// [`try_reserve`](Reservation::try_reserve) and
/// [`shrink_to`](Reservation::shrink_to) grow and shrink a `Vec<u8>` and
/// the reservation with it, so that the reservation follows the buffer's
/// capacity; several buffers may share one reservation if every change of
/// their capacity goes through it. [`try_grow`](Reservation::try_grow) and
/// [`shrink`](Reservation::shrink) count other memory (a copy about to be
/// made, say).
pub struct Reservation {
    budget: MemoryBudget,
    bytes: usize,
}

impl Reservation {
    /// The bytes this reservation holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The budget it is part of.
    pub fn budget(&self) -> &MemoryBudget {
        &self.budget
    }

    /// Takes `bytes` more from the budget; fails, holding what it held, if
    /// that would take the budget's total past its limit.
    pub fn try_grow(&mut self, bytes: usize) -> Result<(), BudgetExceeded> {
        self.budget.try_take(bytes)?;
        self.bytes += bytes;
        Ok(())
    }

    /// Gives `bytes` back to the budget (at most what it holds).
    pub fn shrink(&mut self, bytes: usize) {
        let bytes = bytes.min(self.bytes);
        self.bytes -= bytes;
        self.budget.give_back(bytes);
    }

    /// Makes room for at least `additional` more bytes in `buf`, as
    /// [`Vec::reserve`] does (doubling its capacity, or less when the
    /// budget has no room for that), and takes what its capacity grows by.
    /// Fails, leaving `buf` and the reservation as they were, if even the
    /// bytes asked for would take the budget past its limit. `buf`'s
    /// capacity must be counted in this reservation already (it is, if it
    /// started empty and every change went through here).
    pub fn try_reserve(
        &mut self,
        buf: &mut Vec<u8>,
        additional: usize,
    ) -> Result<(), BudgetExceeded> {
        let capacity = buf.capacity();
        let needed = buf.len().checked_add(additional).ok_or(BudgetExceeded {
            asked: additional,
            available: self.budget.available(),
            limit: self.budget.limit(),
        })?;
        if needed <= capacity {
            return Ok(());
        }
        // Doubling, as `Vec` grows, so that a buffer filled a chunk at a
        // time is copied O(log n) times; exactly what is needed near the
        // limit.
        let doubled = needed.max(capacity.saturating_mul(2));
        let target = if self.budget.try_take(doubled - capacity).is_ok() {
            doubled
        } else {
            self.budget.try_take(needed - capacity)?;
            needed
        };
        buf.reserve_exact(target - buf.len());
        self.bytes += target - capacity;
        // The allocator may give more than asked: count what it gave.
        self.track(target, buf.capacity());
        Ok(())
    }

    /// Shrinks `buf`'s capacity to at most `min_capacity` (but not below
    /// its length), as [`Vec::shrink_to`] does, and gives back what it
    /// shrank by.
    pub fn shrink_to(&mut self, buf: &mut Vec<u8>, min_capacity: usize) {
        let before = buf.capacity();
        buf.shrink_to(min_capacity);
        self.track(before, buf.capacity());
    }

    /// Follows a buffer's capacity from `before` to `after`.
    fn track(&mut self, before: usize, after: usize) {
        if after > before {
            self.budget.take(after - before);
            self.bytes += after - before;
        } else {
            self.shrink(before - after);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("bytes", &self.bytes)
            .field("budget", &self.budget)
            .finish()
    }
}

/// A growth a [`MemoryBudget`] refused: it would have taken the total past
/// the limit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BudgetExceeded {
    asked: usize,
    available: usize,
    limit: usize,
}

impl BudgetExceeded {
    /// The bytes asked for.
    pub const fn asked(&self) -> usize {
        self.asked
    }

    /// The bytes that were left.
    pub const fn available(&self) -> usize {
        self.available
    }

    /// The budget's limit.
    pub const fn limit(&self) -> usize {
        self.limit
    }
}

impl fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "memory budget exceeded: {} more bytes asked for, {} of {} left",
            self.asked, self.available, self.limit
        )
    }
}

impl Error for BudgetExceeded {}

#[cfg(test)]
mod tests;
