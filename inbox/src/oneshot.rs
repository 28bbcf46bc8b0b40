//! A oneshot channel: one value from one [`Sender`] to one [`Receiver`],
//! reusable without allocating.
//!
//! Used for RPC replies. [`new`] allocates once; after the exchange,
//! [`Receiver::try_reset`] resets the *same* allocation and hands out a new
//! sender, so a loop of calls allocates nothing.
//!
//! # State
//!
//! One [`Arc`] holds the value cell, a state byte and the receiver's
//! waker (the same `AtomicWaker` the inbox uses):
//!
//! ```text
//!  u8 bits:  [ RECEIVER_ALIVE (bit 2) | SENDER_ALIVE (bit 1) | VALUE (bit 0) ]
//! ```
//!
//! * `VALUE`: the cell holds a value. Set by the sender (in the same CAS that
//!   clears `SENDER_ALIVE`), cleared by the receiver when it takes or drops
//!   the value.
//! * `SENDER_ALIVE`, `RECEIVER_ALIVE`: the handle exists. Each handle clears
//!   its own bit; only [`Receiver::try_reset`] sets `SENDER_ALIVE` again.
//!
//! The value cell belongs to the sender while `SENDER_ALIVE` is set and
//! `VALUE` is not, and to the receiver once `VALUE` is set or `SENDER_ALIVE`
//! is clear. The sender writes the value and then publishes it with an
//! `AcqRel` CAS; the receiver reads the state with `Acquire` before touching
//! the cell. A value never taken is dropped by [`Receiver::try_reset`] or,
//! when both handles are gone, by the last `Arc`.
//!
//! After its CAS the sender only wakes the receiver's waker, never touches
//! the value cell, so a reset may run concurrently with that wake-up (the
//! new round at worst sees a spurious wake-up).

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::{Arc, AtomicU8, Ordering, UnsafeCell};
use crate::waker::AtomicWaker;

/// The cell holds a value.
const VALUE: u8 = 0b001;
/// The sender exists.
const SENDER_ALIVE: u8 = 0b010;
/// The receiver exists.
const RECEIVER_ALIVE: u8 = 0b100;

/// Makes a oneshot channel.
///
/// ```
/// use kiln_inbox::oneshot;
///
/// let (sender, mut receiver) = oneshot::new();
/// sender.try_send(42).unwrap();
/// assert_eq!(receiver.try_recv(), Ok(42));
///
/// // Reuse the allocation for the next exchange.
/// let sender = receiver.try_reset().unwrap();
/// sender.try_send(43).unwrap();
/// assert_eq!(receiver.try_recv(), Ok(43));
/// ```
pub fn new<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: AtomicU8::new(SENDER_ALIVE | RECEIVER_ALIVE),
        value: UnsafeCell::new(MaybeUninit::uninit()),
        waker: AtomicWaker::new(),
    });
    let sender = Sender {
        shared: shared.clone(),
    };
    (sender, Receiver { shared })
}

/// The allocation shared by the two handles.
struct Shared<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
    waker: AtomicWaker,
}

// SAFETY: the value moves from the sender's thread to the receiver's
// (`T: Send`) and is only accessed by the cell's owner (see the module docs),
// never shared, so `T: Sync` is not needed.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: see `Send`.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// Takes the value out of the cell.
    ///
    /// # Safety
    ///
    /// The caller must own the cell (see the module docs) and `VALUE` must be
    /// set; the caller must clear `VALUE` afterwards.
    unsafe fn take_value(&self) -> T {
        self.value.with(|cell| {
            // SAFETY: `with` gives a valid, aligned pointer, and the caller
            // owns the cell, so nobody writes it meanwhile.
            let cell = unsafe { &*cell };
            // SAFETY: initialised, per the caller.
            unsafe { cell.assume_init_read() }
        })
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        if self.state.load(Ordering::Relaxed) & VALUE != 0 {
            // SAFETY: both handles are gone (the `Arc` drop synchronised with
            // theirs), so we own the cell, and `VALUE` says it is initialised.
            drop(unsafe { self.take_value() });
        }
    }
}

/// Sending half of a oneshot channel; sends at most one value.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, never waiting.
    ///
    /// # Errors
    ///
    /// Gives `value` back if the receiver is gone.
    pub fn try_send(self, value: T) -> Result<(), T> {
        let shared = &*self.shared;
        let mut state = shared.state.load(Ordering::Acquire);
        if state & RECEIVER_ALIVE == 0 {
            return Err(value);
        }
        shared.value.with_mut(|cell| {
            // SAFETY: `SENDER_ALIVE` is set (we exist) and `VALUE` is not (we
            // send at most once, consuming `self`): we own the cell.
            unsafe { (*cell).write(value) };
        });
        loop {
            if state & RECEIVER_ALIVE == 0 {
                // The receiver left meanwhile; the cell is still ours.
                // SAFETY: we own the cell and just initialised it.
                let value = unsafe { shared.take_value() };
                // `Drop` clears `SENDER_ALIVE`.
                return Err(value);
            }
            let new = (state | VALUE) & !SENDER_ALIVE;
            match shared.state.compare_exchange_weak(
                state,
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        shared.waker.wake();
        // `SENDER_ALIVE` is already clear: skip `Drop`, drop the `Arc`.
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used again or dropped, so the `Arc` is
        // moved out exactly once.
        drop(unsafe { std::ptr::read(&this.shared) });
        Ok(())
    }

    /// Whether the receiver still exists.
    pub fn is_connected(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) & RECEIVER_ALIVE != 0
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let _ = self.shared.state.fetch_and(!SENDER_ALIVE, Ordering::AcqRel);
        self.shared.waker.wake();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender")
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Receiving half of a oneshot channel.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Takes the value, never waiting.
    ///
    /// # Errors
    ///
    /// [`RecvError::NoValue`] if the sender has not sent (yet),
    /// [`RecvError::Disconnected`] if it is gone without sending (or the
    /// value was already taken).
    pub fn try_recv(&mut self) -> Result<T, RecvError> {
        let shared = &*self.shared;
        let state = shared.state.load(Ordering::Acquire);
        if state & VALUE != 0 {
            // SAFETY: `VALUE` is set, so the cell is ours (the sender's CAS
            // published it, our `Acquire` load read that).
            let value = unsafe { shared.take_value() };
            let _ = shared.state.fetch_and(!VALUE, Ordering::AcqRel);
            Ok(value)
        } else if state & SENDER_ALIVE != 0 {
            Err(RecvError::NoValue)
        } else {
            Err(RecvError::Disconnected)
        }
    }

    /// Receives the value, waiting for it; `None` if the sender is dropped
    /// without sending.
    pub fn recv(&mut self) -> RecvOnce<'_, T> {
        RecvOnce { receiver: self }
    }

    /// Polls for the value; `Ready(None)` if the sender is dropped without
    /// sending (or the value was already taken).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.try_recv() {
            Ok(value) => return Poll::Ready(Some(value)),
            Err(RecvError::Disconnected) => return Poll::Ready(None),
            Err(RecvError::NoValue) => {}
        }
        let armed = self.shared.waker.register(cx.waker());
        match self.try_recv() {
            Ok(value) => Poll::Ready(Some(value)),
            Err(RecvError::Disconnected) => Poll::Ready(None),
            Err(RecvError::NoValue) => {
                if !armed {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
        }
    }

    /// Once the sender is gone, resets the channel (dropping a value not
    /// taken) and returns a new sender for the same allocation; `None` while
    /// the sender exists.
    pub fn try_reset(&mut self) -> Option<Sender<T>> {
        let shared = &*self.shared;
        let state = shared.state.load(Ordering::Acquire);
        if state & SENDER_ALIVE != 0 {
            return None;
        }
        if state & VALUE != 0 {
            // SAFETY: the sender is gone, so the cell is ours, and `VALUE`
            // says it is initialised. The state is overwritten below.
            drop(unsafe { shared.take_value() });
        }
        // Only we change the state now (the sender is gone), and the new
        // sender reaches its thread through a synchronising move.
        shared
            .state
            .store(SENDER_ALIVE | RECEIVER_ALIVE, Ordering::Release);
        Some(Sender {
            shared: self.shared.clone(),
        })
    }

    /// Whether the sender still exists (it goes away when it sends).
    pub fn is_connected(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) & SENDER_ALIVE != 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // A value not taken is dropped with the allocation.
        let _ = self
            .shared
            .state
            .fetch_and(!RECEIVER_ALIVE, Ordering::AcqRel);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver")
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Future of [`Receiver::recv`]: the value, or `None` if the sender is
/// dropped without sending.
#[must_use = "futures do nothing unless polled"]
pub struct RecvOnce<'r, T> {
    receiver: &'r mut Receiver<T>,
}

impl<T> Future for RecvOnce<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().receiver.poll_recv(cx)
    }
}

impl<T> fmt::Debug for RecvOnce<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvOnce")
            .field("receiver", &self.receiver)
            .finish()
    }
}

/// Error of [`Receiver::try_recv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecvError {
    /// The sender has not sent a value yet.
    NoValue,
    /// The sender is gone without sending, or the value was already taken.
    Disconnected,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvError::NoValue => "no value sent yet",
            RecvError::Disconnected => "oneshot sender is gone without sending a value",
        })
    }
}

impl Error for RecvError {}
