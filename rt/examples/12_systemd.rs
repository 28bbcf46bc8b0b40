//! 12: A systemd service: it tells systemd when it is ready and what it
//! does, keeps the watchdog fed while it is healthy, and says when it stops.
//!
//! The service actor does its "work" (a tick every 100 ms) and starts
//! `systemd::watchdog` with a health check that fails once the work has
//! stalled for a second: systemd then gets no more `WATCHDOG=1` and restarts
//! the service. On Ctrl-C or SIGTERM (what `systemctl stop` sends) it stops
//! the watchdog, sends `STOPPING=1` and ends. Outside systemd (no
//! `NOTIFY_SOCKET`) it runs the same, notifying no one.
//!
//! A unit file for it, e.g. `/etc/systemd/system/kiln-example.service`:
//!
//! ```ini
//! [Unit]
//! Description=kiln systemd example
//!
//! [Service]
//! Type=notify
//! ExecStart=/path/to/target/debug/examples/rt_12_systemd
//! WatchdogSec=10s
//! Restart=on-failure
//!
//! [Install]
//! WantedBy=multi-user.target
//! ```
//!
//! Then `systemctl start kiln-example` returns once the service sent
//! `READY=1`, and `systemctl status kiln-example` shows its `STATUS=`. Run
//! it without installing it with
//! `systemd-run --user --service-type=notify -p WatchdogSec=10s <path>`,
//! or from a terminal:
//!
//! ```text
//! cargo run -p kiln-rt --example rt_12_systemd
//! ```

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_core::Stream;
use kiln::actor::{self, actor_fn};
use kiln::messages::Terminate;
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::systemd::{self, Notify};
use kiln_rt::timer::Interval;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// How often the service does its work.
const WORK_INTERVAL: Duration = Duration::from_millis(100);
/// Without work for this long the service is unhealthy.
const STALLED: Duration = Duration::from_secs(1);

/// The service: works until told to stop, keeping systemd informed.
async fn service(
    mut ctx: actor::Context<Terminate, ThreadLocal>,
    notify: Option<Notify>,
) -> io::Result<()> {
    // The health check: has work been done lately?
    let last_work = Rc::new(Cell::new(Instant::now()));
    let worked = last_work.clone();
    let health_check = move || {
        let idle = worked.get().elapsed();
        if idle < STALLED {
            Ok(())
        } else {
            Err(format!("no work done for {} ms", idle.as_millis()))
        }
    };
    // Returns at once outside systemd or without `WatchdogSec=`.
    let watchdog = ctx.runtime().spawn_local(
        watchdog_supervisor,
        actor_fn(systemd::watchdog),
        health_check,
        ActorOptions::default(),
    );

    match &notify {
        Some(notify) => {
            notify.ready().await?;
            notify.status("working").await?;
            match notify.watchdog_timeout() {
                Some(timeout) => println!("running under systemd, watchdog timeout {timeout:?}"),
                None => println!("running under systemd, no watchdog"),
            }
        }
        None => println!("running outside systemd"),
    }

    let mut work = Interval::every(ctx.runtime_ref().clone(), WORK_INTERVAL);
    loop {
        let stop = poll_fn(|cx| {
            // A message (or all references gone) means stop.
            if pin!(ctx.receive_next()).poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            Pin::new(&mut work).poll_next(cx).map(|_| false)
        })
        .await;
        if stop {
            break;
        }
        last_work.set(Instant::now()); // The work.
    }

    // The watchdog first, so that `STOPPING=1` is the last word.
    let _ = watchdog.try_send(Terminate);
    let _ = watchdog.join().await;
    if let Some(notify) = &notify {
        notify.stopping().await?;
    }
    Ok(())
}

/// A service that can't talk to systemd stops; systemd notices.
fn service_supervisor(err: io::Error) -> SupervisorStrategy<Option<Notify>> {
    eprintln!("service failed: {err}");
    SupervisorStrategy::Stop
}

/// The watchdog fails only if it can't send to systemd.
fn watchdog_supervisor<H>(err: io::Error) -> SupervisorStrategy<H> {
    eprintln!("systemd watchdog failed: {err}");
    SupervisorStrategy::Stop
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut runtime = Runtime::setup().num_threads(1).build()?;
    runtime.run_on_workers(|mut rt: RuntimeRef| -> io::Result<()> {
        // Fails if `NOTIFY_SOCKET` is set but can't be reached.
        let notify = Notify::from_env(&rt)?;
        let service_ref = rt.spawn_local(
            service_supervisor,
            actor_fn(service),
            notify,
            ActorOptions::default(),
        );
        // Ctrl-C and SIGTERM stop the service.
        rt.receive_signals(service_ref.try_map());
        Ok(())
    })?;
    runtime.start()?;
    println!("stopped");
    Ok(())
}
