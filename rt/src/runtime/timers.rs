//! Where pending timers are kept: a [`TimingWheel`] per worker for
//! thread-local actors and one, behind a mutex, shared by the runtime for
//! thread-safe and synchronous actors. The futures are in [`crate::timer`].

pub(crate) mod wheel;

pub(crate) use wheel::{TimerToken, TimingWheel};
