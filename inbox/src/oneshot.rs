//! A oneshot channel: one value from one [`Sender`] to one [`Receiver`],
//! reusable without allocating.
//!
//! Used for RPC replies, one channel per call. [`new`] takes one block from
//! a per-thread cache of freed blocks (`inbox/src/recycle.rs`) or, when it has
//! none, from the allocator; the last handle to go gives it back. After an
//! exchange, [`Receiver::try_reset`] also reuses the *same* block and hands
//! out a new sender.
//!
//! # State
//!
//! One block holds the value cell, a state byte and the receiver's waker
//! (the same `AtomicWaker` the inbox uses). There is no reference count: the
//! state's bits say which handles still use the block, and the one that
//! clears the last of them frees it.
//!
//! ```text
//!  u8 bits:  [ SENDER_REF (bit 3) | RECEIVER_ALIVE (bit 2) | SENDER_ALIVE (bit 1) | VALUE (bit 0) ]
//! ```
//!
//! * `VALUE`: the cell holds a value. Set by the sender (in the same CAS that
//!   clears `SENDER_ALIVE`); cleared by the receiver when it drops a value it
//!   took (see below) and by a reset.
//! * `SENDER_ALIVE`: the sender can still send. Cleared when it sends or is
//!   dropped; what the receiver's "disconnected" means.
//! * `SENDER_REF`: the sender still uses the block. Cleared after
//!   `SENDER_ALIVE`, once the sender has woken the receiver: the wake-up
//!   comes after the news (so none is lost) and must not touch a freed block.
//! * `RECEIVER_ALIVE`: the receiver exists (and uses the block).
//!
//! Only [`Receiver::try_reset`] sets `SENDER_ALIVE` and `SENDER_REF` again.
//!
//! The value cell belongs to the sender while `SENDER_ALIVE` is set and
//! `VALUE` is not, and to the receiver once `VALUE` is set or `SENDER_ALIVE`
//! is clear. The sender writes the value and then publishes it with an
//! `AcqRel` CAS; the receiver reads the state with `Acquire` before touching
//! the cell.
//!
//! The receiver takes the value without a read-modify-write: it notes that
//! it did in its handle (`taken`), and clears `VALUE` in the same
//! `fetch_and` that clears `RECEIVER_ALIVE` when it goes away. Whoever frees
//! the block thus sees `VALUE` set exactly when a value was sent and never
//! taken, and drops it.
//!
//! Freeing: every release of a bit is an `AcqRel` RMW, so the handle whose
//! RMW leaves neither `SENDER_REF` nor `RECEIVER_ALIVE` comes after every
//! other use of the block and frees it. A receiver that goes away after the
//! sender let go (the usual end of an RPC) needs no RMW: its `Acquire` load
//! that finds `SENDER_REF` clear read the sender's release, the last write
//! to the state by anyone else, so it is alone and frees the block.
//!
//! A call thus costs the receiver one RMW to arm its waker (when it has to
//! wait) and, if the sender still holds the block, one when it goes away,
//! and the sender its CAS, the wake-up (one RMW, or two when the receiver
//! waits) and one RMW to let go: five or six, where a shared `Arc` (a count
//! besides the state) needed nine.

use std::alloc::Layout;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::loom::{AtomicU8, Ordering, UnsafeCell, spin_loop};
use crate::recycle;
use crate::waker::{AtomicWaker, WakerCell};

/// The cell holds a value.
const VALUE: u8 = 0b0001;
/// The sender can send.
const SENDER_ALIVE: u8 = 0b0010;
/// The receiver exists.
const RECEIVER_ALIVE: u8 = 0b0100;
/// The sender uses the block.
const SENDER_REF: u8 = 0b1000;
/// A new channel's state.
const FRESH: u8 = SENDER_ALIVE | SENDER_REF | RECEIVER_ALIVE;

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
    let shared = recycle::allocate(Shared::<T>::LAYOUT).cast::<Shared<T>>();
    let value = Shared {
        state: AtomicU8::new(FRESH),
        value: UnsafeCell::new(MaybeUninit::uninit()),
        waker_state: AtomicWaker::new_state(),
        waker: WakerCell::new(),
    };
    // SAFETY: the block has `Shared<T>`'s layout and nobody else has it.
    unsafe { shared.as_ptr().write(value) };
    let sender = Sender {
        shared,
        _owns: PhantomData,
    };
    let receiver = Receiver {
        shared,
        taken: false,
        _owns: PhantomData,
    };
    (sender, receiver)
}

/// The block shared by the two handles.
struct Shared<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
    /// The receiver's [`AtomicWaker`], see [`Shared::waker`].
    waker_state: AtomicU8,
    waker: WakerCell,
}

impl<T> Shared<T> {
    const LAYOUT: Layout = Layout::new::<Shared<T>>();

    /// The receiver's waker (its state byte beside `state`).
    fn waker(&self) -> AtomicWaker<'_> {
        AtomicWaker::new(&self.waker_state, &self.waker)
    }

    /// Takes the value out of the cell.
    ///
    /// # Safety
    ///
    /// The caller must own the cell (see the module docs), the cell must hold
    /// a value, and the caller must make sure it is not taken again.
    unsafe fn take_value(&self) -> T {
        self.value.with(|cell| {
            // SAFETY: `with` gives a valid, aligned pointer, and the caller
            // owns the cell, so nobody writes it meanwhile.
            let cell = unsafe { &*cell };
            // SAFETY: initialised, per the caller.
            unsafe { cell.assume_init_read() }
        })
    }

    /// Clears `bits` (the caller's references); frees the block if that
    /// leaves no handle using it.
    ///
    /// # Safety
    ///
    /// `shared` is a live block and the caller holds `bits` (its
    /// references), which it does not use after this call.
    unsafe fn release(shared: NonNull<Shared<T>>, bits: u8) {
        // SAFETY: the caller still holds a reference, so the block is live.
        let this = unsafe { shared.as_ref() };
        let new = this.state.fetch_and(!bits, Ordering::AcqRel) & !bits;
        if new & (SENDER_REF | RECEIVER_ALIVE) == 0 {
            // SAFETY: ours was the last reference, and our `AcqRel` RMW came
            // after every other handle's release (also `AcqRel`) and read it,
            // so every other use of the block happened before this. `VALUE`
            // is left set only for a value nobody took (the receiver clears
            // it, as it goes, when it took the value).
            unsafe { Shared::free(shared, new & VALUE != 0) };
        }
    }

    /// Drops the value left in the cell, if `value_left`, and frees the
    /// block.
    ///
    /// # Safety
    ///
    /// No handle uses the block any more, and `value_left` says whether the
    /// cell holds a value that nobody took.
    unsafe fn free(shared: NonNull<Shared<T>>, value_left: bool) {
        // SAFETY: nobody else uses the block, per the caller.
        let this = unsafe { shared.as_ref() };
        if value_left {
            // SAFETY: the cell holds a value that nobody took, per the
            // caller, and we are alone.
            drop(unsafe { this.take_value() });
        }
        // SAFETY: the block holds an initialised `Shared` (its value cell is
        // a `MaybeUninit`, handled above) that nobody uses any more.
        unsafe { shared.as_ptr().drop_in_place() };
        // SAFETY: from `recycle::allocate(Self::LAYOUT)` in `new`, and no
        // longer used.
        unsafe { recycle::free(shared.cast(), Self::LAYOUT) };
    }
}

/// Sending half of a oneshot channel; sends at most one value.
pub struct Sender<T> {
    /// Holds `SENDER_ALIVE` and `SENDER_REF`.
    shared: NonNull<Shared<T>>,
    /// Sends a `T`.
    _owns: PhantomData<T>,
}

// SAFETY: the handles only touch the block as the state allows (see the
// module docs); the value moves from the sender's thread to the receiver's
// (`T: Send`) and is never shared, so `T: Sync` is not needed.
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: `&Sender` only reads the state (`is_connected`).
unsafe impl<T: Send> Sync for Sender<T> {}

impl<T> Sender<T> {
    fn shared(&self) -> &Shared<T> {
        // SAFETY: we hold `SENDER_REF`, so the block is live.
        unsafe { self.shared.as_ref() }
    }

    /// Sends `value`, never waiting.
    ///
    /// # Errors
    ///
    /// Gives `value` back if the receiver is gone.
    pub fn try_send(self, value: T) -> Result<(), T> {
        let shared = self.shared();
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
                // SAFETY: we own the cell and just initialised it; it is
                // never read again (`VALUE` stays clear).
                let value = unsafe { shared.take_value() };
                // `Drop` lets go of the block.
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
        shared.waker().wake();
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: we hold `SENDER_REF` and never use the block again (`Drop`
        // is skipped).
        unsafe { Shared::release(this.shared, SENDER_REF) };
        Ok(())
    }

    /// Whether the receiver still exists.
    pub fn is_connected(&self) -> bool {
        self.shared().state.load(Ordering::Acquire) & RECEIVER_ALIVE != 0
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let shared = self.shared();
        // First the news (disconnected), then the wake-up, then let go of
        // the block (see `SENDER_REF`).
        let _ = shared.state.fetch_and(!SENDER_ALIVE, Ordering::AcqRel);
        shared.waker().wake();
        // SAFETY: we hold `SENDER_REF` and are going away.
        unsafe { Shared::release(self.shared, SENDER_REF) };
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
    /// Holds `RECEIVER_ALIVE`.
    shared: NonNull<Shared<T>>,
    /// This round's value was taken; `VALUE` is left set until we go away
    /// or reset (see the module docs).
    taken: bool,
    /// Receives a `T`.
    _owns: PhantomData<T>,
}

// SAFETY: see `Sender`.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: `&Receiver` only reads the state (`is_connected`).
unsafe impl<T: Send> Sync for Receiver<T> {}

impl<T> Receiver<T> {
    fn shared(&self) -> &Shared<T> {
        // SAFETY: we hold `RECEIVER_ALIVE`, so the block is live.
        unsafe { self.shared.as_ref() }
    }

    /// Takes the value, never waiting.
    ///
    /// # Errors
    ///
    /// [`RecvError::NoValue`] if the sender has not sent (yet),
    /// [`RecvError::Disconnected`] if it is gone without sending (or the
    /// value was already taken).
    pub fn try_recv(&mut self) -> Result<T, RecvError> {
        let state = self.shared().state.load(Ordering::Acquire);
        if state & VALUE != 0 && !self.taken {
            // SAFETY: `VALUE` is set, so the cell is ours (the sender's CAS
            // published it, our `Acquire` load read that), and `taken` says
            // it still holds the value; it is set right below.
            let value = unsafe { self.shared().take_value() };
            self.taken = true;
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
        let armed = self.shared().waker().register(cx.waker());
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
    ///
    /// A sender that has just sent (or was just dropped) may still be waking
    /// this receiver on another thread; the reset then waits for that to
    /// finish, which takes no longer than the wake-up.
    pub fn try_reset(&mut self) -> Option<Sender<T>> {
        let shared = self.shared();
        let mut state = shared.state.load(Ordering::Acquire);
        if state & SENDER_ALIVE != 0 {
            return None;
        }
        while state & SENDER_REF != 0 {
            spin_loop();
            state = shared.state.load(Ordering::Acquire);
        }
        if state & VALUE != 0 && !self.taken {
            // SAFETY: the sender is gone, so the cell is ours, and `VALUE`
            // without `taken` says it holds a value. The state is
            // overwritten below.
            drop(unsafe { shared.take_value() });
        }
        // Only we use the block now (the sender let go: our `Acquire` load
        // read its release), and the new sender reaches its thread through a
        // synchronising move.
        shared.state.store(FRESH, Ordering::Release);
        self.taken = false;
        Some(Sender {
            shared: self.shared,
            _owns: PhantomData,
        })
    }

    /// Whether the sender still exists (it goes away when it sends).
    pub fn is_connected(&self) -> bool {
        self.shared().state.load(Ordering::Acquire) & SENDER_ALIVE != 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let state = self.shared().state.load(Ordering::Acquire);
        if state & SENDER_REF == 0 {
            // The sender has let go (the usual end of an RPC: the reply came
            // before the caller was polled again). Its release was the last
            // write to the state (only `try_reset`, ours, sets `SENDER_REF`
            // again) and our `Acquire` load read it, so every use of the
            // block by the sender happened before this and we are alone:
            // free it without a read-modify-write.
            let value_left = state & VALUE != 0 && !self.taken;
            // SAFETY: as above; `VALUE` without `taken` says the cell holds
            // a value nobody took.
            unsafe { Shared::free(self.shared, value_left) };
            return;
        }
        // A value we took is gone: clear `VALUE` so that whoever frees the
        // block does not drop it again. A value not taken is dropped with
        // the block.
        let bits = if self.taken {
            RECEIVER_ALIVE | VALUE
        } else {
            RECEIVER_ALIVE
        };
        // SAFETY: we hold `RECEIVER_ALIVE` and are going away.
        unsafe { Shared::release(self.shared, bits) };
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
