//! Running as a systemd service: telling the service manager that the
//! service is ready, reloading or stopping, what it is doing, and that it is
//! alive ([`Notify`], and the [`watchdog`] actor).
//!
//! # The protocol
//!
//! A service with `Type=notify` (or `notify-reload`) in its unit file is
//! started by systemd with `NOTIFY_SOCKET` in its environment: the address
//! of a Unix datagram socket, a path (`/run/systemd/notify`) or, starting
//! with `@`, a name in Linux's abstract namespace. The service sends
//! datagrams of newline-separated `KEY=VALUE` assignments to it: `READY=1`
//! once it serves, `STATUS=...` to describe what it does, `WATCHDOG=1` to
//! say it is alive, `STOPPING=1` when it begins to stop, see
//! [`sd_notify(3)`]. This module speaks that protocol itself, without
//! libsystemd.
//!
//! With `WatchdogSec=` set, systemd also passes `WATCHDOG_USEC` (and
//! `WATCHDOG_PID`, the process it is meant for) and restarts the service
//! (with `Restart=on-failure`) if no `WATCHDOG=1` arrives within that time.
//! The [`watchdog`] actor sends them, at half that interval, for as long as
//! a health check passes.
//!
//! # Outside systemd
//!
//! Without `NOTIFY_SOCKET`, [`Notify::from_env`] returns `None` and the
//! [`watchdog`] actor returns at once, so the same program runs from a
//! terminal unchanged.
//!
//! # Why the datagrams go through the I/O driver
//!
//! Sending a datagram to a local socket does not wait, except when the
//! receiver's queue is full (`net.unix.max_dgram_qlen` datagrams, e.g. a
//! busy or stalled service manager): a blocking socket would then block the
//! worker thread, and every actor on it, and a non-blocking one would fail.
//! Sent through the runtime's I/O driver (an a10 operation on io_uring; on
//! the poll driver a non-blocking send retried when the connected socket is
//! writable again, which Linux reports once the receiver's queue has room)
//! only the sending actor waits. The socket is connected once (a plain
//! system call that does not wait for a datagram socket) and each message
//! is one `send`.
//!
//! # Example
//!
//! A unit file and the service's main actor; example 12
//! (`rt/examples/12_systemd.rs`) is a complete service.
//!
//! ```ini
//! [Service]
//! Type=notify
//! ExecStart=/usr/local/bin/my-service
//! WatchdogSec=10s
//! Restart=on-failure
//! ```
//!
//! ```no_run
//! use std::io;
//! use kiln::actor::{self, actor_fn};
//! use kiln::messages::Terminate;
//! use kiln::supervisor::SupervisorStrategy;
//! use kiln_rt::systemd::{self, Notify};
//! use kiln_rt::{ActorOptions, ThreadLocal};
//!
//! async fn service(mut ctx: actor::Context<Terminate, ThreadLocal>) -> io::Result<()> {
//!     let notify = Notify::from_env(ctx.runtime_ref())?;
//!     let health_check = || -> Result<(), String> { Ok(()) };
//!     let watchdog = ctx.runtime().spawn_local(
//!         |err: io::Error| {
//!             eprintln!("systemd watchdog failed: {err}");
//!             SupervisorStrategy::Stop
//!         },
//!         actor_fn(systemd::watchdog),
//!         health_check,
//!         ActorOptions::default(),
//!     );
//!     // ... bind sockets, start the servers ...
//!     if let Some(notify) = &notify {
//!         notify.ready().await?;
//!         notify.status("serving").await?;
//!     }
//!     // Runs until Ctrl-C or SIGTERM (registered with `receive_signals`).
//!     let _ = ctx.receive_next().await;
//!     let _ = watchdog.try_send(Terminate);
//!     if let Some(notify) = &notify {
//!         notify.stopping().await?;
//!     }
//!     Ok(())
//! }
//! ```
//!
//! [`sd_notify(3)`]: https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use futures_core::Stream;
use kiln::actor;
use kiln::messages::Terminate;
use log::{debug, warn};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::access::Access;
use crate::runtime::io::fd::IoFd;
use crate::signal::Signal;
use crate::timer::Interval;

/// The environment variable with the service manager's socket.
const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
/// The environment variable with the watchdog interval, in microseconds.
const WATCHDOG_USEC: &str = "WATCHDOG_USEC";
/// The environment variable with the process the watchdog is meant for.
const WATCHDOG_PID: &str = "WATCHDOG_PID";

/// A connection to the service manager (systemd), to notify it of the
/// service's state with the [`sd_notify(3)`] protocol.
///
/// Made from the environment systemd sets with [`Notify::from_env`]
/// (`None` outside systemd), or for a given socket with
/// [`Notify::connect`]. Every method sends one datagram; the socket is bound
/// to the I/O driver (ring or poll) of the runtime access it was made with,
/// like every kiln-rt I/O type (see [`net`](crate::net)).
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use kiln_rt::systemd::Notify;
///
/// async fn start(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
///     // ... set up the service ...
///     if let Some(notify) = Notify::from_env(ctx.runtime_ref())? {
///         notify.ready().await?;
///         notify.status("serving 0 clients").await?;
///     }
///     Ok(())
/// }
/// ```
///
/// [`sd_notify(3)`]: https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html
pub struct Notify {
    fd: IoFd,
    /// The address as given (`/path` or `@name`), for errors.
    socket: OsString,
    watchdog: Option<Duration>,
}

impl Notify {
    /// Connects to the service manager named by the environment: the socket
    /// in `NOTIFY_SOCKET`, and the watchdog interval in `WATCHDOG_USEC` if
    /// `WATCHDOG_PID` is unset or is this process (see
    /// [`watchdog_timeout`](Notify::watchdog_timeout)).
    ///
    /// Returns `None` if `NOTIFY_SOCKET` is unset or empty: the process was
    /// not started by systemd (or not as a `Type=notify` service), and there
    /// is no one to notify. Fails if the variable is not a Unix socket
    /// address or the socket can't be reached; see [`Notify::connect`].
    ///
    /// The variables are left as they are, so a child process started later
    /// sees them too; pass it a cleaned environment if it should not notify
    /// systemd itself.
    pub fn from_env<RT: Access + ?Sized>(rt: &RT) -> io::Result<Option<Notify>> {
        let socket = match std::env::var_os(NOTIFY_SOCKET) {
            Some(socket) if !socket.is_empty() => socket,
            _ => return Ok(None),
        };
        let mut notify = Notify::connect(rt, &socket)?;
        notify.watchdog = watchdog_from_env();
        debug!(
            "systemd notify socket {}, watchdog {:?}",
            socket.display(),
            notify.watchdog
        );
        Ok(Some(notify))
    }

    /// Connects to the service manager's socket `socket`, written as in
    /// `NOTIFY_SOCKET`: a path (`/run/systemd/notify`) or `@` and a name in
    /// the abstract namespace. No watchdog interval is set.
    ///
    /// Fails with [`InvalidInput`](io::ErrorKind::InvalidInput) for another
    /// kind of address (systemd's `vsock:` addresses are not supported),
    /// and with the system's error (e.g. [`NotFound`](io::ErrorKind::NotFound),
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused)) if no socket
    /// listens there.
    pub fn connect<RT: Access + ?Sized>(rt: &RT, socket: &OsStr) -> io::Result<Notify> {
        let address = notify_address(socket)?;
        let context = |err: io::Error| {
            io::Error::new(
                err.kind(),
                format!(
                    "can't connect to the systemd notify socket {}: {err}",
                    socket.display()
                ),
            )
        };
        // Close-on-exec, so child processes don't inherit it.
        let fd = Socket::new(Domain::UNIX, Type::DGRAM, None).map_err(context)?;
        fd.connect(&address).map_err(context)?;
        Ok(Notify {
            fd: IoFd::new(fd.into(), &rt.io()).map_err(context)?,
            socket: socket.to_owned(),
            watchdog: None,
        })
    }

    /// The watchdog interval: systemd restarts the service (if its unit says
    /// so) when no [`watchdog`](Notify::watchdog) ping arrives within it.
    ///
    /// From `WATCHDOG_USEC` (set by `WatchdogSec=`) when made with
    /// [`Notify::from_env`]; `None` if it is unset, invalid or zero, or if
    /// `WATCHDOG_PID` names another process (the variables were inherited
    /// from a parent that is the service's main process).
    pub const fn watchdog_timeout(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends `READY=1`: the service has started (or finished reloading) and
    /// serves. For `Type=notify` services systemd waits for it before
    /// starting the units ordered after this one.
    pub async fn ready(&self) -> io::Result<()> {
        self.send("READY=1").await
    }

    /// Sends `RELOADING=1` with `MONOTONIC_USEC=` (the time of the
    /// `CLOCK_MONOTONIC` clock, which systemd 253 and later require for
    /// `Type=notify-reload`): the service is reloading its configuration.
    /// Send [`ready`](Notify::ready) once it is done.
    pub async fn reloading(&self) -> io::Result<()> {
        let now = monotonic_usec()?;
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={now}"))
            .await
    }

    /// Sends `STOPPING=1`: the service is stopping. systemd stops expecting
    /// watchdog pings from then on.
    pub async fn stopping(&self) -> io::Result<()> {
        self.send("STOPPING=1").await
    }

    /// Sends `STATUS=` and `status`, a line shown by `systemctl status`.
    /// Line breaks in `status` become spaces (the protocol is line-based).
    pub async fn status(&self, status: &str) -> io::Result<()> {
        let status = status.replace(['\n', '\r'], " ");
        self.send(&format!("STATUS={status}")).await
    }

    /// Sends `WATCHDOG=1`: the service is alive. With `WatchdogSec=` set it
    /// must be sent within every [`watchdog_timeout`](Notify::watchdog_timeout);
    /// the [`watchdog`] actor does that.
    pub async fn watchdog(&self) -> io::Result<()> {
        self.send("WATCHDOG=1").await
    }

    /// Sends `WATCHDOG=trigger`: the service found itself broken, and
    /// systemd acts as if the watchdog interval had passed (e.g. restarts
    /// it), whether or not `WatchdogSec=` is set.
    pub async fn trigger_watchdog(&self) -> io::Result<()> {
        self.send("WATCHDOG=trigger").await
    }

    /// Sends `assignments`, newline-separated `KEY=VALUE` lines, as one
    /// datagram: for the notifications without a method of their own, such
    /// as `EXTEND_TIMEOUT_USEC=` or `ERRNO=` (see [`sd_notify(3)`]).
    ///
    /// [`sd_notify(3)`]: https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html
    pub async fn send(&self, assignments: &str) -> io::Result<()> {
        let datagram = assignments.as_bytes().to_vec();
        let length = datagram.len();
        let (_, sent) = self
            .fd
            .send(datagram)
            .await
            .map_err(|err| self.error(&err))?;
        if sent != length {
            // Datagrams are sent whole or not at all; just in case.
            let err = io::Error::new(
                io::ErrorKind::WriteZero,
                format!("sent {sent} of {length} bytes"),
            );
            return Err(self.error(&err));
        }
        Ok(())
    }

    fn error(&self, err: &io::Error) -> io::Error {
        io::Error::new(
            err.kind(),
            format!(
                "can't notify systemd through {}: {err}",
                self.socket.display()
            ),
        )
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("socket", &self.socket)
            .field("watchdog", &self.watchdog)
            .finish_non_exhaustive()
    }
}

/// The address of a notify socket written as in `NOTIFY_SOCKET`.
fn notify_address(socket: &OsStr) -> io::Result<SockAddr> {
    let bytes = socket.as_bytes();
    let address = match bytes.first() {
        Some(b'/') => SockAddr::unix(socket),
        // The abstract namespace: the name follows a NUL byte.
        Some(b'@') => {
            let mut name = Vec::with_capacity(bytes.len());
            name.push(0);
            name.extend_from_slice(&bytes[1..]);
            SockAddr::unix(OsStr::from_bytes(&name))
        }
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "systemd notify socket {} is not a Unix socket path (/...) or abstract name (@...)",
                    socket.display()
                ),
            ));
        }
    };
    address.map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("systemd notify socket {}: {err}", socket.display()),
        )
    })
}

/// The watchdog interval from `WATCHDOG_USEC`, if `WATCHDOG_PID` is unset or
/// is this process.
fn watchdog_from_env() -> Option<Duration> {
    if let Some(pid) = std::env::var_os(WATCHDOG_PID) {
        let pid = pid.to_str().and_then(|pid| pid.parse::<u32>().ok());
        if pid != Some(std::process::id()) {
            debug!("the systemd watchdog is meant for another process ({WATCHDOG_PID}={pid:?})");
            return None;
        }
    }
    let usec = std::env::var_os(WATCHDOG_USEC)?;
    match usec.to_str().and_then(|usec| usec.parse::<u64>().ok()) {
        Some(0) => None,
        Some(usec) => Some(Duration::from_micros(usec)),
        None => {
            warn!(
                "ignoring the systemd watchdog: {WATCHDOG_USEC}={} is not a number of microseconds",
                usec.display()
            );
            None
        }
    }
}

/// The time of `CLOCK_MONOTONIC` in microseconds, as systemd expects in
/// `MONOTONIC_USEC=`.
fn monotonic_usec() -> io::Result<u64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid `timespec` to write to, for the whole call.
    let res = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut now) };
    if res != 0 {
        return Err(io::Error::last_os_error());
    }
    let secs = u64::try_from(now.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(now.tv_nsec).unwrap_or(0);
    Ok(secs * 1_000_000 + nanos / 1_000)
}

/// What stops the [`watchdog`] actor: made from [`Terminate`] and from exit
/// signals, so that `rt.receive_signals(watchdog_ref.try_map())` stops it
/// on Ctrl-C or SIGTERM.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WatchdogMessage {
    _private: (),
}

impl From<Terminate> for WatchdogMessage {
    fn from(_: Terminate) -> WatchdogMessage {
        WatchdogMessage { _private: () }
    }
}

impl TryFrom<Signal> for WatchdogMessage {
    type Error = Signal;

    /// Exit signals (interrupt, terminate, quit) stop the watchdog; others
    /// are given back.
    fn try_from(signal: Signal) -> Result<WatchdogMessage, Signal> {
        if signal.should_exit() {
            Ok(WatchdogMessage { _private: () })
        } else {
            Err(signal)
        }
    }
}

/// What woke the watchdog.
enum Event {
    Stop,
    Tick,
}

/// An actor that keeps systemd's watchdog fed while `health_check` passes:
/// spawn it with `actor_fn(systemd::watchdog)` and the health check as its
/// argument.
///
/// With a watchdog interval (see [`Notify::watchdog_timeout`]) it calls
/// `health_check` right away and then every half interval, and sends
/// `WATCHDOG=1` each time the check passes. When the check fails it sends
/// `STATUS=health check failed: <error>` instead of the ping: if the
/// service stays unhealthy for the whole interval, systemd considers it
/// hung and (with `Restart=on-failure`) restarts it.
///
/// It stops when it receives a [`WatchdogMessage`] ([`Terminate`], or an
/// exit signal), or when every reference to it is gone. It sends neither
/// `READY=1` nor `STOPPING=1`: the service does, with [`Notify`], when it is
/// ready and when it begins to stop.
///
/// Outside systemd (no `NOTIFY_SOCKET`), or without a watchdog interval
/// (no `WatchdogSec=`), it returns at once. It fails, for its supervisor,
/// only if a datagram can't be sent.
///
/// ```no_run
/// # use std::convert::Infallible;
/// use std::io;
/// use kiln::actor::actor_fn;
/// use kiln::supervisor::SupervisorStrategy;
/// use kiln_rt::{systemd, ActorOptions, RuntimeRef};
///
/// # fn setup(mut rt: RuntimeRef) -> Result<(), Infallible> {
/// let health_check = || -> Result<(), String> { Ok(()) };
/// let supervisor = |err: io::Error| {
///     eprintln!("systemd watchdog failed: {err}");
///     SupervisorStrategy::Stop
/// };
/// let watchdog = rt.spawn_local(supervisor, actor_fn(systemd::watchdog), health_check, ActorOptions::default());
/// // Ctrl-C and SIGTERM stop it.
/// rt.receive_signals(watchdog.try_map());
/// # Ok(())
/// # }
/// ```
pub async fn watchdog<RT, H, E>(
    mut ctx: actor::Context<WatchdogMessage, RT>,
    mut health_check: H,
) -> io::Result<()>
where
    RT: Access + Clone,
    H: FnMut() -> Result<(), E>,
    E: fmt::Display,
{
    let Some(notify) = Notify::from_env(ctx.runtime_ref())? else {
        debug!("not started by systemd ({NOTIFY_SOCKET} unset): the watchdog stops");
        return Ok(());
    };
    let Some(timeout) = notify.watchdog_timeout() else {
        debug!("no systemd watchdog interval ({WATCHDOG_USEC} unset): the watchdog stops");
        return Ok(());
    };
    let period = timeout / 2;
    debug!("systemd watchdog: pinging every {period:?}");
    let mut interval = Interval::every(ctx.runtime_ref().clone(), period);
    loop {
        match health_check() {
            Ok(()) => notify.watchdog().await?,
            Err(err) => {
                warn!("systemd watchdog: health check failed, not pinging: {err}");
                notify
                    .status(&format!("health check failed: {err}"))
                    .await?;
            }
        }
        let event = poll_fn(|cx| {
            // Messages first: a stop is not delayed by a tick.
            if pin!(ctx.receive_next()).poll(cx).is_ready() {
                return Poll::Ready(Event::Stop);
            }
            match Pin::new(&mut interval).poll_next(cx) {
                Poll::Ready(_) => Poll::Ready(Event::Tick),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        match event {
            Event::Stop => {
                debug!("systemd watchdog stopping");
                return Ok(());
            }
            Event::Tick => {}
        }
    }
}
