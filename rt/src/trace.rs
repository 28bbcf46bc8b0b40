//! Tracing: a record of what the runtime did, and when, to look at on a
//! timeline. The recorder itself is in the engine (`runtime/trace.rs`).
//!
//! [`Setup::enable_tracing`](crate::Setup::enable_tracing) makes the runtime
//! record, into one file:
//! - every **poll** of an actor or future, with the actor's id and name;
//! - **scheduling**: each batch of thread-local or thread-safe runs and why
//!   it ended, the spin before sleeping, overflows of the wake-up queue;
//! - **ring polls**: each sleep in the kernel (with its timeout), and each
//!   poll of a busy worker's ring;
//! - **timer expiry** (how many timers expired) and **signal relays** (which
//!   signal, to how many actors);
//! - **user events**: what actors record through their context with
//!   [`Trace::start_trace`] and [`Trace::finish_trace`], with attributes,
//!   tagged with the id of the actor that made them.
//!
//! The `kiln-trace` tool (`tools/trace-convert`) converts the file into the
//! Chrome Trace Event format, which [Perfetto](https://ui.perfetto.dev) and
//! `chrome://tracing` open, or draws it as an SVG timeline; [`read`] reads it
//! in Rust. The format is described in [`format`](mod@format).
//!
//! ```no_run
//! use kiln::actor;
//! use kiln_rt::ThreadLocal;
//! use kiln_rt::trace::Trace;
//!
//! async fn resizer(mut ctx: actor::Context<Vec<u8>, ThreadLocal>) {
//!     while let Ok(image) = ctx.receive_next().await {
//!         let timing = ctx.start_trace();
//!         // ... resize the image ...
//!         ctx.finish_trace(timing, "resize", &[("bytes", &image.len())]);
//!     }
//! }
//! ```
//!
//! # What it costs
//!
//! With tracing off, a worker checks one boolean per poll, `start_trace`
//! returns `None` after looking at a thread-local, and `finish_trace(None,
//! ..)` returns at once: nothing is recorded and nothing allocated. With
//! tracing on, every thread appends fixed-size 32-byte records to a buffer
//! of its own (names are interned: a name is written once per thread), with
//! timestamps from the monotonic clock the worker reads anyway, and appends
//! the buffer to the file under a lock when it holds 256 KiB.
//!
//! Measured with the benchmark suite's system `kiln-traced` (kiln with
//! tracing on) beside `kiln`, in one run (`cargo run --release -p kiln-bench
//! -- --only W1 --systems kiln,kiln-traced,tokio`, 2 vCPU, medians of 5
//! runs of 1,000,000 round trips): ping-pong on one worker (W1a, two polls
//! per round trip and nothing else) 223 ns per round trip with tracing, 188
//! without (tokio 226); across two workers (W1b) 1,810 against 1,598 ns; two
//! thread-safe actors on two workers (W1c) 776 against 590 ns. A trace of
//! W1a grows by about 64 MB per million round trips. Since traced workers
//! time their polls with `Instant` (see `clock`), W1a measured 308 ns
//! traced against 230 ns untraced (commit 06b3008, `--only W1a --systems
//! kiln,kiln-traced`, on a slower day of this machine). Real actors do more per
//! poll, so the share is smaller. With tracing off, the runtime was as fast
//! as before tracing and metrics were added (W1a fastest of three runs 189.6
//! ns before, 191.5 after, within this machine's noise).
//!
//! # Why a trait
//!
//! [`Trace`] is implemented for the actor contexts whose runtime access is
//! kiln-rt's (`actor::Context<M, ThreadLocal>`, `actor::Context<M,
//! ThreadSafe>`, `sync::Context<M, Sync>`) and for the access types and
//! [`RuntimeRef`](crate::RuntimeRef) themselves, so an actor writes
//! `ctx.start_trace()` whatever its kind, and a helper that got only the
//! runtime access can trace too. kiln's `Context` knows nothing of
//! kiln-rt, so the methods come from this trait rather than from the
//! context; import it with `use kiln_rt::trace::Trace`.

use std::time::Instant;

use crate::runtime::trace as recorder;

pub mod format;
mod read;

pub use read::{Attribute, Event, Recording, RunEnd, ThreadKind, ThreadTrace, read};

/// Recording user events of actors; see the [module documentation](self).
pub trait Trace {
    /// Starts an event: returns its start time if this thread records a
    /// trace, `None` (cheaply) if not. Give it to
    /// [`finish_trace`](Trace::finish_trace).
    fn start_trace(&self) -> Option<EventTiming>;

    /// Finishes and records an event started with
    /// [`start_trace`](Trace::start_trace), with a description and
    /// attributes (`&[("key", &value)]`; integers, floats, booleans and
    /// strings). Does nothing if `timing` is `None`.
    ///
    /// The event is tagged with the id of the actor running on this thread:
    /// the actor whose context this is.
    fn finish_trace(
        &self,
        timing: Option<EventTiming>,
        description: &str,
        attributes: &[(&str, &dyn AttributeValue)],
    );
}

/// When a traced event started; from [`Trace::start_trace`].
#[derive(Copy, Clone, Debug)]
#[must_use = "give it to `finish_trace`"]
pub struct EventTiming {
    start: Instant,
}

/// A value of an event's attribute: integers, floats, booleans and strings.
/// Sealed: the trace format knows only these.
pub trait AttributeValue: private::Sealed {}

mod private {
    /// An attribute value as the trace file stores it.
    #[derive(Copy, Clone, Debug)]
    pub enum Value<'a> {
        I64(i64),
        U64(u64),
        F64(f64),
        Bool(bool),
        Str(&'a str),
    }

    /// The method behind [`AttributeValue`](super::AttributeValue).
    pub trait Sealed {
        /// The value to record.
        fn value(&self) -> Value<'_>;
    }
}

use private::Value;

macro_rules! attribute_values {
    ($variant: ident as $as: ty: $($t: ty),*) => {
        $(
            impl private::Sealed for $t {
                fn value(&self) -> Value<'_> {
                    Value::$variant(*self as $as)
                }
            }
            impl AttributeValue for $t {}
        )*
    };
}

attribute_values!(I64 as i64: i8, i16, i32, i64, isize);
attribute_values!(U64 as u64: u8, u16, u32, u64, usize);
attribute_values!(F64 as f64: f32, f64);

impl private::Sealed for bool {
    fn value(&self) -> Value<'_> {
        Value::Bool(*self)
    }
}
impl AttributeValue for bool {}

impl private::Sealed for str {
    fn value(&self) -> Value<'_> {
        Value::Str(self)
    }
}
impl AttributeValue for str {}

impl private::Sealed for String {
    fn value(&self) -> Value<'_> {
        Value::Str(self)
    }
}
impl AttributeValue for String {}

impl<T: AttributeValue + ?Sized> private::Sealed for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}
impl<T: AttributeValue + ?Sized> AttributeValue for &T {}

/// Implements [`Trace`] for a runtime access type.
macro_rules! trace_through_thread {
    ($($t: ty),*) => {
        $(
            impl Trace for $t {
                fn start_trace(&self) -> Option<EventTiming> {
                    start_trace()
                }

                fn finish_trace(
                    &self,
                    timing: Option<EventTiming>,
                    description: &str,
                    attributes: &[(&str, &dyn AttributeValue)],
                ) {
                    finish_trace(timing, description, attributes);
                }
            }
        )*
    };
}

trace_through_thread!(
    crate::ThreadLocal,
    crate::ThreadSafe,
    crate::access::Sync,
    crate::RuntimeRef
);

/// Implements [`Trace`] for an actor context, through its runtime access.
macro_rules! trace_through_runtime {
    ($($context: ident)::+) => {
        impl<M, RT: Trace> Trace for $($context)::+<M, RT> {
            fn start_trace(&self) -> Option<EventTiming> {
                self.runtime_ref().start_trace()
            }

            fn finish_trace(
                &self,
                timing: Option<EventTiming>,
                description: &str,
                attributes: &[(&str, &dyn AttributeValue)],
            ) {
                self.runtime_ref()
                    .finish_trace(timing, description, attributes);
            }
        }
    };
}

trace_through_runtime!(kiln::actor::Context);
trace_through_runtime!(kiln::sync::Context);

fn start_trace() -> Option<EventTiming> {
    if recorder::is_recording() {
        Some(EventTiming {
            start: Instant::now(),
        })
    } else {
        None
    }
}

fn finish_trace(
    timing: Option<EventTiming>,
    description: &str,
    attributes: &[(&str, &dyn AttributeValue)],
) {
    let Some(timing) = timing else {
        return;
    };
    let end = Instant::now();
    let attributes: Vec<(&str, recorder::Attribute<'_>)> = attributes
        .iter()
        .map(|&(key, value)| {
            let attribute = match value.value() {
                Value::I64(v) => recorder::Attribute::number(format::ATTR_I64, v as u64),
                Value::U64(v) => recorder::Attribute::number(format::ATTR_U64, v),
                Value::F64(v) => recorder::Attribute::number(format::ATTR_F64, v.to_bits()),
                Value::Bool(v) => recorder::Attribute::number(format::ATTR_BOOL, u64::from(v)),
                Value::Str(v) => recorder::Attribute::string(v),
            };
            (key, attribute)
        })
        .collect();
    recorder::user_event(timing.start, end, description, &attributes);
}
