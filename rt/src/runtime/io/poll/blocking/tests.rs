use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{self, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use super::Pool;

/// Unparks the thread that waits in `block_on`.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` to its end on this thread, failing after 10 s.
fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = task::Context::from_waker(&waker);
    let mut future = pin!(future);
    let start = Instant::now();
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "job never ended");
        thread::park_timeout(Duration::from_millis(100));
    }
}

fn pool(max_threads: usize, idle_timeout: Duration) -> &'static Pool {
    Box::leak(Box::new(Pool::new(max_threads, idle_timeout)))
}

#[test]
fn a_job_runs_on_a_thread_of_the_pool() {
    let pool = pool(2, Duration::from_secs(10));
    let name = block_on(pool.run(|| Ok(thread::current().name().map(str::to_owned))));
    assert_eq!(name.unwrap().as_deref(), Some("kiln-blocking"));
    let err = block_on(pool.run(|| -> io::Result<()> { Err(io::ErrorKind::NotFound.into()) }));
    assert_eq!(err.unwrap_err().kind(), io::ErrorKind::NotFound);
}

#[test]
fn a_job_dropped_before_it_started_never_runs() {
    let pool = pool(1, Duration::from_secs(10));
    let (release, released) = mpsc::channel::<()>();
    let first = pool.run(move || {
        released.recv_timeout(Duration::from_secs(10)).ok();
        Ok(())
    });
    let ran = Arc::new(AtomicBool::new(false));
    let second = {
        let ran = ran.clone();
        pool.run(move || {
            ran.store(true, Ordering::SeqCst);
            Ok(())
        })
    };
    drop(second); // Still queued behind `first`.
    release.send(()).unwrap();
    block_on(first).unwrap();
    // Jobs run in order: once this one ran, the dropped one was taken.
    block_on(pool.run(|| Ok(()))).unwrap();
    assert!(!ran.load(Ordering::SeqCst), "a dropped job ran");
}

#[test]
fn threads_are_bounded_and_end_when_idle() {
    let pool = pool(2, Duration::from_millis(50));
    let jobs: Vec<_> = (0..6)
        .map(|_| {
            pool.run(|| {
                thread::sleep(Duration::from_millis(20));
                Ok(())
            })
        })
        .collect();
    assert!(pool.threads().0 <= 2, "{:?}", pool.threads());
    for job in jobs {
        block_on(job).unwrap();
    }
    let start = Instant::now();
    while pool.threads().0 != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "idle threads did not end: {:?}",
            pool.threads()
        );
        thread::sleep(Duration::from_millis(10));
    }
    // A new job starts a thread again.
    block_on(pool.run(|| Ok(()))).unwrap();
}

#[test]
fn a_panicking_job_fails_its_future_and_the_pool_goes_on() {
    let pool = pool(1, Duration::from_secs(10));
    let err = block_on(pool.run(|| -> io::Result<()> { panic!("boom") })).unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");
    block_on(pool.run(|| Ok(()))).unwrap();
}
