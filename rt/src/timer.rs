//! Timers: a future that completes at an instant, a deadline for another future, and a stream of
//! ticks.
//!
//! * [`Timer`] completes once its deadline has passed; [`Timer::change_deadline`] moves it.
//! * [`Deadline`] wraps a future that returns a `Result` and fails it with [`DeadlinePassed`] if it
//!   has not finished by the deadline (`DeadlinePassed` converts into an `io::Error` of kind
//!   [`TimedOut`](io::ErrorKind::TimedOut)); [`Deadline::change_deadline`] moves it.
//! * [`Interval`] is a [`Stream`] that yields every interval.
//!
//! Each is made from the runtime access an actor or future already has (its context's
//! `ThreadLocal` or `ThreadSafe`, or a `RuntimeRef`), and uses the timers of that runtime: a
//! hierarchical timing wheel per worker, which the worker checks on every turn and sleeps no
//! longer than its next deadline.
//!
//! # Guarantees
//!
//! * **Never early**: a timer completes only once [`Instant::now()`] is at or past its deadline.
//! * **On time**: on an idle worker a timer fires within about a millisecond of its deadline; a
//!   busy worker fires it when its running actor yields.
//! * **Lazy**: nothing is registered until the future is first polled.
//! * **Cancelled on drop**: dropping a timer (or a `Deadline` or `Interval`) removes it from the
//!   worker's timers and frees its memory; so does a `Deadline` whose future finishes first.
//! * **Cheap**: a pending timer costs about 50 bytes and O(1) to add or cancel, so a timeout on
//!   every request is fine.
//!
//! # Examples
//!
//! Waiting for a while, in an actor whose context carries the runtime access `ThreadLocal`:
//!
//! ```text
//! use std::time::Duration;
//! use kiln_rt::timer::Timer;
//!
//! async fn sleepy_actor(ctx: actor::Context<(), ThreadLocal>) {
//!     Timer::after(ctx.runtime_ref().clone(), Duration::from_millis(200)).await;
//!     println!("200 ms later");
//! }
//! ```
//!
//! A time limit on I/O; the error converts into an `io::Error` of kind `TimedOut`:
//!
//! ```text
//! use std::io;
//! use std::time::Duration;
//! use kiln_rt::timer::Deadline;
//!
//! async fn read_with_timeout(rt: ThreadLocal, stream: &mut TcpStream, buf: Vec<u8>) -> io::Result<Vec<u8>> {
//!     Deadline::after(rt, Duration::from_secs(5), stream.recv(buf)).await
//! }
//! ```
//!
//! The same from a timer made earlier, with [`Timer::wrap`]:
//!
//! ```text
//! let timer = Timer::after(rt.clone(), Duration::from_secs(5));
//! let reply = timer.wrap(actor_ref.rpc(Request)).await?;
//! ```
//!
//! A heartbeat every second (`next` from `futures_util::StreamExt`):
//!
//! ```text
//! use std::time::Duration;
//! use kiln_rt::timer::Interval;
//!
//! async fn heartbeat(rt: ThreadLocal, peer: ActorRef<Ping>) {
//!     let mut interval = Interval::every(rt, Duration::from_secs(1));
//!     while let Some(tick) = interval.next().await {
//!         if peer.try_send(Ping(tick)).is_err() {
//!             break;
//!         }
//!     }
//! }
//! ```
//!
//! If the interval's consumer falls behind by more than one interval (a long-running actor, a
//! busy worker), the missed ticks are skipped rather than delivered in a burst; see [`Interval`].

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::stream::Stream;
use pin_project_lite::pin_project;

use crate::access::Access;
use crate::runtime::timers::TimerToken;

/// Used when `now + timeout` cannot be represented: about 30 years, "never" in practice.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// The shortest [`Interval`]; a zero interval is made this long.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// `start + duration`, or [`FAR_FUTURE`] from `start` if that cannot be represented.
pub(crate) fn add_or_far(start: Instant, duration: Duration) -> Instant {
    start
        .checked_add(duration)
        .unwrap_or_else(|| start + FAR_FUTURE)
}

/// A future that completes once its deadline has passed.
///
/// It is registered with the worker's timers when first polled (and re-armed with the new
/// waker on later polls), and removed from them when it completes or is dropped. It never
/// completes before [`Instant::now()`] reaches the deadline; the output is [`DeadlinePassed`].
///
/// See the [module docs](self) for examples.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Timer<RT: Access> {
    /// The runtime whose timers this is registered with.
    rt: RT,
    /// When the timer completes.
    deadline: Instant,
    /// The registration, from the first pending poll until completion or drop.
    token: Option<TimerToken>,
}

impl<RT: Access> Timer<RT> {
    /// A timer that completes at `deadline` (at once if that has passed).
    pub fn at(rt: RT, deadline: Instant) -> Timer<RT> {
        Timer {
            rt,
            deadline,
            token: None,
        }
    }

    /// A timer that completes `timeout` from now.
    ///
    /// A `timeout` too large to represent is taken as about 30 years.
    pub fn after(rt: RT, timeout: Duration) -> Timer<RT> {
        Timer::at(rt, add_or_far(Instant::now(), timeout))
    }

    /// When the timer completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed, i.e. the timer is (or would be, if polled) complete.
    pub fn has_passed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline to `deadline`, earlier or later (a deadline that has passed completes
    /// the timer on its next poll).
    ///
    /// The registration for the old deadline is removed at once, and one for the new deadline
    /// is made when the timer is next polled, which awaiting it does: the task is not woken at
    /// the old deadline. A timer that already completed can be re-armed this way, e.g. a
    /// watchdog pushed back on every message (`rt/tests/timers.rs` has one).
    pub fn change_deadline(&mut self, deadline: Instant) {
        self.reset(deadline);
    }

    /// Puts this timer's deadline on `future`; see [`Deadline`].
    pub fn wrap<Fut>(self, future: Fut) -> Deadline<Fut, RT> {
        Deadline {
            future,
            timer: self,
        }
    }

    /// Removes the registration, if any, from the runtime's timers.
    fn cancel(&mut self) {
        if let Some(token) = self.token.take() {
            self.rt.remove_timer(token);
        }
    }

    /// Moves the deadline to `deadline`, unregistered until polled again.
    fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }
}

impl<RT: Access> Future for Timer<RT> {
    type Output = DeadlinePassed;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DeadlinePassed> {
        let this = self.get_mut();
        if this.has_passed() {
            // Frees the wheel entry now rather than when the timer is dropped (it fired, or
            // the task was polled for another reason just after the deadline).
            this.cancel();
            return Poll::Ready(DeadlinePassed);
        }
        match this.token {
            Some(token) => this.rt.update_timer(token, cx.waker()),
            None => this.token = Some(this.rt.add_timer(this.deadline, cx.waker().clone())),
        }
        Poll::Pending
    }
}

// `rt` is never pinned (no `Pin<&mut RT>` is ever made), so moving a pinned `Timer` is fine.
impl<RT: Access> Unpin for Timer<RT> {}

impl<RT: Access> Drop for Timer<RT> {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl<RT: Access> fmt::Debug for Timer<RT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("deadline", &self.deadline)
            .field("registered", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// A future with a deadline: it returns the output of the wrapped future, or fails with
    /// [`DeadlinePassed`] if that has not finished by the deadline.
    ///
    /// The wrapped future must return `Result<T, E>` with `E: From<DeadlinePassed>`, such as
    /// [`io::Error`] (the error is of kind [`TimedOut`](io::ErrorKind::TimedOut)) or
    /// `DeadlinePassed` itself.
    ///
    /// Every poll polls the wrapped future first, so a future that is ready when the deadline
    /// passes still returns its output. The timer is registered only while the wrapped future is
    /// pending, and removed as soon as it completes.
    ///
    /// See the [module docs](self) for examples.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Deadline<Fut, RT: Access> {
        #[pin]
        future: Fut,
        timer: Timer<RT>,
    }
}

impl<Fut, RT: Access> Deadline<Fut, RT> {
    /// Wraps `future` with a deadline at `deadline`.
    pub fn at(rt: RT, deadline: Instant, future: Fut) -> Deadline<Fut, RT> {
        Timer::at(rt, deadline).wrap(future)
    }

    /// Wraps `future` with a deadline `timeout` from now.
    ///
    /// A `timeout` too large to represent is taken as about 30 years.
    pub fn after(rt: RT, timeout: Duration, future: Fut) -> Deadline<Fut, RT> {
        Timer::after(rt, timeout).wrap(future)
    }

    /// When the deadline passes.
    pub fn deadline(&self) -> Instant {
        self.timer.deadline()
    }

    /// Whether the deadline has passed.
    pub fn has_passed(&self) -> bool {
        self.timer.has_passed()
    }

    /// Moves the deadline to `deadline`, earlier or later; see [`Timer::change_deadline`]. E.g.
    /// to give a read more time while data keeps arriving. It takes a pinned `Deadline` (as one
    /// being awaited is); the wrapped future is not touched.
    pub fn change_deadline(self: Pin<&mut Self>, deadline: Instant) {
        self.project().timer.change_deadline(deadline);
    }

    /// The wrapped future.
    pub fn get_ref(&self) -> &Fut {
        &self.future
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut Fut {
        &mut self.future
    }

    /// The wrapped future; its deadline is cancelled.
    pub fn into_inner(self) -> Fut {
        self.future
    }
}

impl<Fut, RT, T, E> Future for Deadline<Fut, RT>
where
    Fut: Future<Output = Result<T, E>>,
    E: From<DeadlinePassed>,
    RT: Access,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.future.poll(cx) {
            this.timer.cancel();
            return Poll::Ready(result);
        }
        match Pin::new(this.timer).poll(cx) {
            Poll::Ready(DeadlinePassed) => Poll::Ready(Err(DeadlinePassed.into())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<Fut, RT: Access> fmt::Debug for Deadline<Fut, RT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deadline")
            .field("deadline", &self.timer.deadline)
            .field("registered", &self.timer.token.is_some())
            .finish_non_exhaustive()
    }
}

/// A [`Stream`] that yields once every interval, forever.
///
/// The first tick comes one interval after [`Interval::every`]; tick *n* is due at
/// `start + n * interval`, so ticks do not drift however late each is consumed. Each item is the
/// instant the tick was due (not when it was yielded).
///
/// **Missed ticks are skipped.** If the consumer falls behind by more than one interval (it did
/// not poll for a while, or the worker was busy), the stream yields the overdue tick once and
/// then waits for the next tick that is still in the future: the ticks in between are dropped
/// rather than delivered in a burst. A consumer less than one interval late gets every tick.
///
/// See the [module docs](self) for an example.
#[must_use = "streams do nothing unless polled"]
pub struct Interval<RT: Access> {
    /// The timer for the next tick.
    timer: Timer<RT>,
    /// Time between ticks, never zero.
    interval: Duration,
}

impl<RT: Access> Interval<RT> {
    /// A stream that yields every `interval`, first one `interval` from now.
    ///
    /// A zero `interval` is taken as one millisecond, the timers' resolution.
    pub fn every(rt: RT, interval: Duration) -> Interval<RT> {
        let interval = interval.max(MIN_INTERVAL);
        Interval {
            timer: Timer::after(rt, interval),
            interval,
        }
    }

    /// When the next tick is due.
    pub fn next_deadline(&self) -> Instant {
        self.timer.deadline()
    }
}

impl<RT: Access> Stream for Interval<RT> {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        let this = self.get_mut();
        match Pin::new(&mut this.timer).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(DeadlinePassed) => {
                let tick = this.timer.deadline();
                let mut next = add_or_far(tick, this.interval);
                let now = Instant::now();
                if next <= now {
                    // More than one interval behind: the first tick on the grid after `now`.
                    let behind = now.duration_since(tick).as_nanos();
                    let past_tick = behind % this.interval.as_nanos();
                    let past_tick = Duration::from_nanos(u64::try_from(past_tick).unwrap_or(0));
                    next = now + (this.interval - past_tick);
                }
                this.timer.reset(next);
                Poll::Ready(Some(tick))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl<RT: Access> fmt::Debug for Interval<RT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("interval", &self.interval)
            .field("next_deadline", &self.timer.deadline)
            .finish_non_exhaustive()
    }
}

/// The error (and [`Timer`]'s output) when a deadline has passed.
///
/// Converts into an [`io::Error`] of kind [`TimedOut`](io::ErrorKind::TimedOut).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DeadlinePassed;

impl fmt::Display for DeadlinePassed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline passed")
    }
}

impl Error for DeadlinePassed {}

impl From<DeadlinePassed> for io::Error {
    fn from(err: DeadlinePassed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, err)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::future::{pending, ready};
    use std::pin::pin;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};
    use std::thread::sleep;

    use super::*;
    use crate::access::PrivateAccess;
    use crate::runtime::timers::TimingWheel;

    /// A runtime access over a wheel that the test expires by hand.
    #[derive(Clone)]
    struct TestRt(Rc<RefCell<TimingWheel>>);

    impl TestRt {
        fn new() -> TestRt {
            TestRt(Rc::new(RefCell::new(TimingWheel::new(Instant::now()))))
        }

        fn pending(&self) -> usize {
            self.0.borrow().len()
        }

        /// Expires the wheel (sleeping until its next deadline) until it wakes something;
        /// returns the `now` that did.
        fn run_until_woken(&self) -> Instant {
            let give_up = Instant::now() + Duration::from_secs(10);
            loop {
                let now = Instant::now();
                assert!(now < give_up, "no timer fired");
                if self.0.borrow_mut().expire(now) > 0 {
                    return now;
                }
                let next = self
                    .0
                    .borrow()
                    .next_deadline()
                    .expect("no timer registered");
                sleep(next.saturating_duration_since(now));
            }
        }
    }

    impl PrivateAccess for TestRt {
        fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerToken {
            self.0.borrow_mut().add(deadline, waker)
        }

        fn update_timer(&self, token: TimerToken, waker: &Waker) {
            let _ = self.0.borrow_mut().update_waker(token, waker);
        }

        fn remove_timer(&self, token: TimerToken) {
            let _ = self.0.borrow_mut().remove(token);
        }

        fn io(&self) -> crate::runtime::io::Io {
            unreachable!("timer tests do no I/O")
        }
    }

    impl Access for TestRt {}

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            let _ = self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (Arc::clone(&count), Waker::from(count))
    }

    fn poll<F: Future>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(waker))
    }

    fn poll_next<S: Stream + Unpin>(stream: &mut S, waker: &Waker) -> Poll<Option<S::Item>> {
        Pin::new(stream).poll_next(&mut Context::from_waker(waker))
    }

    const TIMEOUT: Duration = Duration::from_millis(30);

    #[test]
    fn timer_is_never_early_and_completes_after_expire() {
        let rt = TestRt::new();
        let (count, waker) = counting_waker();
        let mut timer = Timer::after(rt.clone(), TIMEOUT);
        let deadline = timer.deadline();
        assert_eq!(rt.pending(), 0, "registered before being polled");
        // Polls (and expires) until it completes: never before the deadline.
        loop {
            let before = Instant::now();
            match poll(Pin::new(&mut timer), &waker) {
                Poll::Ready(DeadlinePassed) => {
                    assert!(Instant::now() >= deadline, "completed early");
                    assert!(count.0.load(Ordering::SeqCst) <= 1);
                    break;
                }
                Poll::Pending => {
                    assert!(before < deadline, "pending after its deadline");
                    assert_eq!(rt.pending(), 1);
                    let _ = rt.0.borrow_mut().expire(Instant::now());
                    // Polls often in the last milliseconds, to catch completing early.
                    if deadline.saturating_duration_since(Instant::now()) > Duration::from_millis(3)
                    {
                        sleep(Duration::from_millis(1));
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
        }
        assert_eq!(rt.pending(), 0, "not removed on completion");
        assert!(timer.has_passed());
        // Polling a completed timer again is fine.
        assert_eq!(
            poll(Pin::new(&mut timer), &waker),
            Poll::Ready(DeadlinePassed)
        );
    }

    #[test]
    fn timer_wakes_the_latest_waker() {
        let rt = TestRt::new();
        let (first, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        let mut timer = Timer::after(rt.clone(), TIMEOUT);
        assert_eq!(poll(Pin::new(&mut timer), &first_waker), Poll::Pending);
        assert_eq!(poll(Pin::new(&mut timer), &second_waker), Poll::Pending);
        assert_eq!(rt.pending(), 1, "registered twice");
        let woken_at = rt.run_until_woken();
        assert!(woken_at >= timer.deadline());
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            poll(Pin::new(&mut timer), &second_waker),
            Poll::Ready(DeadlinePassed)
        );
    }

    #[test]
    fn dropping_a_timer_cancels_it() {
        let rt = TestRt::new();
        let (count, waker) = counting_waker();
        let mut timer = Timer::after(rt.clone(), Duration::from_secs(3_600));
        assert_eq!(poll(Pin::new(&mut timer), &waker), Poll::Pending);
        assert_eq!(rt.pending(), 1);
        drop(timer);
        assert_eq!(rt.pending(), 0);
        assert_eq!(
            rt.0.borrow_mut()
                .expire(Instant::now() + Duration::from_secs(7_200)),
            0
        );
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        // Never polled: nothing to cancel, nothing breaks.
        drop(Timer::after(rt.clone(), TIMEOUT));
        assert_eq!(rt.pending(), 0);
    }

    #[test]
    fn change_deadline_moves_the_registration() {
        let rt = TestRt::new();
        let (count, waker) = counting_waker();
        let mut timer = Timer::after(rt.clone(), Duration::from_secs(3_600));
        assert_eq!(poll(Pin::new(&mut timer), &waker), Poll::Pending);
        let soon = Instant::now() + TIMEOUT;
        timer.change_deadline(soon);
        assert_eq!(
            (rt.pending(), timer.deadline()),
            (0, soon),
            "old registration kept"
        );
        assert_eq!(poll(Pin::new(&mut timer), &waker), Poll::Pending);
        assert!(rt.run_until_woken() >= soon);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            poll(Pin::new(&mut timer), &waker),
            Poll::Ready(DeadlinePassed)
        );
        // Re-armed after completing; a deadline in the past completes at once.
        timer.change_deadline(Instant::now() + Duration::from_secs(3_600));
        assert_eq!(poll(Pin::new(&mut timer), &waker), Poll::Pending);
        let mut deadline = pin!(timer.wrap(pending::<Result<(), DeadlinePassed>>()));
        deadline.as_mut().change_deadline(Instant::now());
        assert_eq!(rt.pending(), 0);
        assert_eq!(poll(deadline, &waker), Poll::Ready(Err(DeadlinePassed)));
    }

    #[test]
    fn timer_in_the_past_completes_without_registering() {
        let rt = TestRt::new();
        let (_, waker) = counting_waker();
        let mut timer = Timer::at(rt.clone(), Instant::now());
        assert_eq!(
            poll(Pin::new(&mut timer), &waker),
            Poll::Ready(DeadlinePassed)
        );
        assert_eq!(rt.pending(), 0);
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let rt = TestRt::new();
        let (_, waker) = counting_waker();
        let mut timer = Timer::after(rt.clone(), Duration::MAX);
        assert!(timer.deadline() > Instant::now() + Duration::from_secs(365 * 24 * 3_600));
        assert_eq!(poll(Pin::new(&mut timer), &waker), Poll::Pending);
        assert_eq!(rt.pending(), 1);
    }

    #[test]
    fn deadline_passes_the_output_through() {
        let rt = TestRt::new();
        let (_, waker) = counting_waker();
        let future = pin!(Deadline::after(
            rt.clone(),
            TIMEOUT,
            ready(Ok::<_, io::Error>(5))
        ));
        assert!(matches!(poll(future, &waker), Poll::Ready(Ok(5))));
        assert_eq!(rt.pending(), 0, "registered for a ready future");

        // Pending first: the timer is registered, then removed when the future completes.
        let mut polled = false;
        let future = std::future::poll_fn(move |_| {
            if polled {
                Poll::Ready(Ok::<_, DeadlinePassed>("done"))
            } else {
                polled = true;
                Poll::Pending
            }
        });
        let mut deadline = pin!(Deadline::after(rt.clone(), TIMEOUT, future));
        assert_eq!(poll(deadline.as_mut(), &waker), Poll::Pending);
        assert_eq!(rt.pending(), 1);
        assert_eq!(poll(deadline.as_mut(), &waker), Poll::Ready(Ok("done")));
        assert_eq!(rt.pending(), 0, "not cancelled when the future completed");
    }

    #[test]
    fn deadline_times_out() {
        let rt = TestRt::new();
        let (count, waker) = counting_waker();
        let mut future = pin!(Deadline::after(
            rt.clone(),
            TIMEOUT,
            pending::<Result<(), DeadlinePassed>>()
        ));
        let deadline = future.deadline();
        assert_eq!(poll(future.as_mut(), &waker), Poll::Pending);
        assert_eq!(rt.pending(), 1);
        let woken_at = rt.run_until_woken();
        assert!(woken_at >= deadline);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            poll(future.as_mut(), &waker),
            Poll::Ready(Err(DeadlinePassed))
        );
        assert_eq!(rt.pending(), 0);
    }

    #[test]
    fn deadline_times_out_with_an_io_error() {
        let rt = TestRt::new();
        let (_, waker) = counting_waker();
        let timer = Timer::at(rt.clone(), Instant::now());
        let future = pin!(timer.wrap(pending::<io::Result<usize>>()));
        match poll(future, &waker) {
            Poll::Ready(Err(err)) => {
                assert_eq!(err.kind(), io::ErrorKind::TimedOut);
                assert_eq!(err.to_string(), "deadline passed");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn deadline_accessors() {
        let rt = TestRt::new();
        let at = Instant::now() + Duration::from_secs(60);
        let mut deadline = Deadline::at(rt.clone(), at, ready(Ok::<u8, DeadlinePassed>(1)));
        assert_eq!(deadline.deadline(), at);
        assert!(!deadline.has_passed());
        assert!(deadline.get_ref().clone().into_inner().is_ok());
        *deadline.get_mut() = ready(Ok(2));
        assert_eq!(deadline.into_inner().into_inner(), Ok(2));
        assert_eq!(rt.pending(), 0);
    }

    #[test]
    fn interval_ticks_on_its_grid() {
        let rt = TestRt::new();
        let (count, waker) = counting_waker();
        let created = Instant::now();
        let mut interval = Interval::every(rt.clone(), TIMEOUT);
        let first = interval.next_deadline();
        assert!(first >= created + TIMEOUT);
        assert_eq!(poll_next(&mut interval, &waker), Poll::Pending);
        assert_eq!(rt.pending(), 1);
        let woken_at = rt.run_until_woken();
        assert!(woken_at >= first);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll_next(&mut interval, &waker), Poll::Ready(Some(first)));
        // Less than an interval late: the next tick is one interval on, not skipped.
        if Instant::now() < first + TIMEOUT {
            assert_eq!(interval.next_deadline(), first + TIMEOUT);
            assert_eq!(poll_next(&mut interval, &waker), Poll::Pending);
            let _ = rt.run_until_woken();
            assert_eq!(
                poll_next(&mut interval, &waker),
                Poll::Ready(Some(first + TIMEOUT))
            );
        }
        drop(interval);
        assert_eq!(rt.pending(), 0);
    }

    #[test]
    fn interval_skips_missed_ticks() {
        let rt = TestRt::new();
        let (_, waker) = counting_waker();
        let mut interval = Interval::every(rt.clone(), TIMEOUT);
        let first = interval.next_deadline();
        // Not polled for more than three intervals.
        sleep(TIMEOUT * 3 + TIMEOUT / 2);
        assert_eq!(poll_next(&mut interval, &waker), Poll::Ready(Some(first)));
        let next = interval.next_deadline();
        let now = Instant::now();
        assert!(next > now, "would burst");
        assert!(next <= now + TIMEOUT);
        let since_first = next.duration_since(first);
        assert_eq!(
            since_first.as_nanos() % TIMEOUT.as_nanos(),
            0,
            "off the grid"
        );
        assert!(since_first >= TIMEOUT * 3);
        // No burst: the next poll waits.
        if Instant::now() < next {
            assert_eq!(poll_next(&mut interval, &waker), Poll::Pending);
        }
    }

    #[test]
    fn zero_interval_is_a_millisecond() {
        let rt = TestRt::new();
        let before = Instant::now();
        let interval = Interval::every(rt, Duration::ZERO);
        assert!(interval.next_deadline() >= before + MIN_INTERVAL);
        assert_eq!(interval.size_hint(), (usize::MAX, None));
    }

    #[test]
    fn deadline_passed_error() {
        assert_eq!(DeadlinePassed.to_string(), "deadline passed");
        assert!(DeadlinePassed.source().is_none());
        let err = io::Error::from(DeadlinePassed);
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(
            err.get_ref().unwrap().downcast_ref::<DeadlinePassed>(),
            Some(&DeadlinePassed)
        );
    }

    #[test]
    fn debug_does_not_need_a_debug_runtime() {
        fn unpin<T: Unpin>(_: &T) {}
        let rt = TestRt::new();
        let timer = Timer::at(rt.clone(), Instant::now());
        unpin(&timer);
        assert!(format!("{timer:?}").starts_with("Timer { deadline: "));
        let interval = Interval::every(rt.clone(), TIMEOUT);
        unpin(&interval);
        assert!(format!("{interval:?}").starts_with("Interval { interval: 30ms, "));
        let deadline = Deadline::after(rt, TIMEOUT, pending::<Result<(), DeadlinePassed>>());
        assert!(format!("{deadline:?}").starts_with("Deadline { deadline: "));
    }
}
