//! [`ProcessBox`]: owns a process the way `Pin<Box<dyn Process>>` did,
//! whether it was boxed or lodged in its actor's inbox.
//!
//! # One allocation per actor
//!
//! An actor is its inbox and its future (`ActorFuture`), which holds the
//! inbox's manager and, in the actor, its receiver. Boxed, the future was an
//! allocation of its own beside the inbox's: spawning an idle actor cost
//! two trips to the allocator, about 400 of its 620 instructions (callgrind,
//! `kiln-bench --quick --only W5`), and stopping it two more. Now a spawn
//! makes the inbox with room for the future (`kiln_inbox::room`), builds
//! the future with the inbox's handles and moves it into the room
//! ([`ProcessBox::lodge_local`], [`ProcessBox::lodge_shared`]): one
//! allocation. A future too big for a room (over 2,040 bytes, or aligned to
//! more than 16) is boxed as before ([`ProcessBox::boxed`]).
//!
//! Either way the scheduler holds a `ProcessBox`: a pointer to the process
//! (16 bytes, as the `Box` was), which it polls pinned and drops with the
//! process. Dropping it drops the process in place and then frees its
//! memory as it came: a boxed process with the allocator, a lodged one by
//! releasing the inbox reference its room held (the allocation goes once
//! the inbox's last handle is gone too; a sender may outlive the actor).
//! Which of the two a process is, the process says ([`Process::lodged`]):
//! only [`Lodged`] says it is lodged, and a `Lodged` can only be made here,
//! by lodging it.

use std::alloc::{Layout, dealloc};
use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task;

use kiln::supervisor::panic_message;
use kiln_inbox::room::{Room, release_room};
use log::error;

use crate::runtime::prefetch::{LINE, prefetch_lines};
use crate::runtime::scheduler::process::{Process, SharedProcess};

/// The most bytes of a process [`ProcessBox::prefetch`] asks for: eight
/// lines, its start (the future's state, the actor's first fields and, in
/// W7's connection actor, the receive future's state, 320 bytes in, which
/// 256 bytes missed). 1 KiB (all of that actor) measured no better than
/// 256 bytes: a dozen prefetches at once fill the CPU's queue of pending
/// misses.
const PREFETCH_MAX: usize = 512;

/// Owns a process, boxed or lodged; see the [module docs](self).
pub(crate) struct ProcessBox<P: ?Sized + Process> {
    /// Owns the process, which never moves while it lives.
    ptr: NonNull<P>,
    _owns: PhantomData<P>,
}

// SAFETY: a `ProcessBox` owns its process as a `Box` does (so it is `Send`
// when the process is); a lodged process also holds a reference to its
// inbox, which is `Send` for thread-safe processes (their messages are
// `Send`: see `Lodged`'s impl), and released on whichever thread drops it.
unsafe impl<P: ?Sized + Process + Send> Send for ProcessBox<P> {}

/// A process lodged in its actor's inbox; made only by
/// [`ProcessBox::lodge_local`] and [`ProcessBox::lodge_shared`].
pub(crate) struct Lodged<F, M> {
    process: F,
    /// The inbox's messages: what releasing the room needs.
    _inbox: PhantomData<fn() -> M>,
}

impl<F: Process, M> Process for Lodged<F, M> {
    fn name(&self) -> fn() -> &'static str {
        self.process.name()
    }

    fn is_actor(&self) -> bool {
        self.process.is_actor()
    }

    fn run(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> task::Poll<()> {
        // SAFETY: `process` is structurally pinned: `Lodged` never moves it
        // out, and has no `Drop` of its own.
        unsafe { self.map_unchecked_mut(|lodged| &mut lodged.process) }.run(cx)
    }

    fn lodged(&self) -> Option<unsafe fn(NonNull<u8>)> {
        Some(release_room::<M>)
    }
}

impl<P: ?Sized + Process> ProcessBox<P> {
    /// Owns a boxed process.
    pub(crate) fn boxed(process: Pin<Box<P>>) -> ProcessBox<P> {
        // SAFETY: the process is never moved out of its box: it is polled
        // pinned and dropped in place.
        let raw = Box::into_raw(unsafe { Pin::into_inner_unchecked(process) });
        ProcessBox {
            // SAFETY: `Box::into_raw` is never null.
            ptr: unsafe { NonNull::new_unchecked(raw) },
            _owns: PhantomData,
        }
    }

    /// Asks for the process's memory (its first [`PREFETCH_MAX`] bytes) to
    /// be brought into the cache: it is about to run (see
    /// [`prefetch`](crate::runtime::prefetch)).
    pub(crate) fn prefetch(&self) {
        let size = size_of_val::<P>(self).min(PREFETCH_MAX);
        prefetch_lines(self.ptr.as_ptr().cast_const(), size.div_ceil(LINE));
    }

    /// The process, pinned.
    pub(crate) fn as_mut(&mut self) -> Pin<&mut P> {
        // SAFETY: we own the process and `&mut self` makes this the only
        // reference to it while it lives.
        let process = unsafe { self.ptr.as_mut() };
        // SAFETY: the process never moves (see the module docs).
        unsafe { Pin::new_unchecked(process) }
    }
}

/// Lodges `process` in `room`, an inbox of `M`s; returns the lodged
/// process's address.
fn lodge<F: Process, M>(room: Room<M, Lodged<F, M>>, process: F) -> NonNull<Lodged<F, M>> {
    let lodged = Lodged {
        process,
        _inbox: PhantomData,
    };
    room.put(lodged).into_raw()
}

impl ProcessBox<dyn Process> {
    /// Lodges thread-local `process` in `room`; see the [module docs](self).
    pub(crate) fn lodge_local<F: Process + 'static, M: 'static>(
        room: Room<M, Lodged<F, M>>,
        process: F,
    ) -> ProcessBox<dyn Process> {
        ProcessBox {
            ptr: lodge(room, process),
            _owns: PhantomData,
        }
    }
}

impl ProcessBox<SharedProcess> {
    /// Lodges thread-safe `process` in `room`; see the [module docs](self).
    pub(crate) fn lodge_shared<F: Process + Send + 'static, M: Send + 'static>(
        room: Room<M, Lodged<F, M>>,
        process: F,
    ) -> ProcessBox<SharedProcess> {
        ProcessBox {
            ptr: lodge(room, process),
            _owns: PhantomData,
        }
    }
}

impl<P: ?Sized + Process> Deref for ProcessBox<P> {
    type Target = P;

    fn deref(&self) -> &P {
        // SAFETY: we own the process; `&self` allows shared references.
        unsafe { self.ptr.as_ref() }
    }
}

impl<P: ?Sized + Process> Drop for ProcessBox<P> {
    fn drop(&mut self) {
        /// How the memory goes, also if the process's drop panics.
        enum Free {
            Boxed(Layout),
            Lodged(unsafe fn(NonNull<u8>)),
        }

        /// Frees `.0` as `.1` says when dropped.
        struct Guard(NonNull<u8>, Free);

        impl Drop for Guard {
            fn drop(&mut self) {
                match self.1 {
                    Free::Boxed(layout) if layout.size() == 0 => {}
                    // SAFETY: the box's memory, allocated with this layout
                    // (`Box` allocates a value's `Layout::for_value`), whose
                    // value is dropped (or abandoned by a panic).
                    Free::Boxed(layout) => unsafe { dealloc(self.0.as_ptr(), layout) },
                    // SAFETY: the address of a lodged process (only a
                    // `Lodged` says it is lodged, and only `lodge` makes
                    // one, in its inbox's room), dropped (or abandoned by a
                    // panic), released once here.
                    Free::Lodged(release) => unsafe { release(self.0) },
                }
            }
        }

        let free = match self.lodged() {
            Some(release) => Free::Lodged(release),
            None => Free::Boxed(Layout::for_value::<P>(&**self)),
        };
        let _guard = Guard(self.ptr.cast(), free);
        // SAFETY: we own the process, initialised, and never use it again.
        unsafe { self.ptr.drop_in_place() };
    }
}

/// Drops `process`, catching (and logging) a panic in its `Drop`.
pub(crate) fn drop_process<P: ?Sized + Process>(process: ProcessBox<P>) {
    let name = process.name();
    if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(process))) {
        error!(
            "'{}' panicked while being dropped: {}",
            name(),
            panic_message(&*panic)
        );
    }
}
