//! Pipes between actors: more bytes than a pipe holds from a writer actor to
//! a reader actor (every byte checked), the end of the stream once the
//! sender is dropped, a broken pipe once the receiver is, on a worker's ring
//! and on the shared ring of thread-safe actors.

use std::io;
use std::sync::mpsc;
use std::time::Duration;

use kiln::actor;
use kiln::actor_fn;
use kiln::supervisor::NoSupervisor;
use kiln_rt::Spawn;
use kiln_rt::pipe::{self, Receiver, Sender};
use kiln_rt::timer::{Deadline, Timer};
use kiln_rt::{ActorOptions, Runtime, ThreadLocal, ThreadSafe};

mod util;

use util::check::{Report, check_reports, ensure};
use util::pattern::byte;
use util::runtime::run_on_one_worker;
use util::timeout::TIMEOUT;

/// Bytes sent through the pipe: 16 times the default pipe capacity.
const LEN: usize = 1024 * 1024;

/// Writes `LEN` bytes in pieces of changing sizes, then drops the sender.
async fn write_stream(sender: Sender) -> io::Result<()> {
    let mut at = 0;
    let mut piece = 1;
    while at < LEN {
        let len = piece.min(LEN - at);
        let buf: Vec<u8> = (at..at + len).map(byte).collect();
        if piece % 2 == 0 {
            sender.write_all(buf).await?;
            at += len;
        } else {
            // A single write may be short once the pipe is nearly full.
            let (_, n) = sender.write(buf).await?;
            ensure!(n > 0, "wrote nothing");
            at += n;
        }
        piece = (piece * 3 + 1) % 70_001;
    }
    drop(sender); // The end of the stream.
    Ok(())
}

/// Reads until the end of the stream, checking every byte.
async fn read_stream(receiver: Receiver) -> io::Result<()> {
    let mut at = 0;
    let mut buf = Vec::with_capacity(10_000);
    loop {
        buf.clear();
        buf = receiver.read(buf).await?;
        if buf.is_empty() {
            break;
        }
        for (i, &b) in buf.iter().enumerate() {
            ensure!(
                b == byte(at + i),
                "byte {} is {b}, not {}",
                at + i,
                byte(at + i)
            );
        }
        at += buf.len();
    }
    ensure!(at == LEN, "read {at} bytes, not {LEN}");
    Ok(())
}

async fn local_writer(ctx: actor::Context<(), ThreadLocal>, sender: Sender, report: Report) {
    let rt = ctx.runtime_ref().clone();
    let _ = report.send((
        "writer",
        Deadline::after(rt, TIMEOUT, write_stream(sender)).await,
    ));
}

async fn local_reader(ctx: actor::Context<(), ThreadLocal>, receiver: Receiver, report: Report) {
    let rt = ctx.runtime_ref().clone();
    let _ = report.send((
        "reader",
        Deadline::after(rt, TIMEOUT, read_stream(receiver)).await,
    ));
}

#[test]
fn a_mebibyte_from_a_writer_actor_to_a_reader_actor() {
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        let (sender, receiver) = pipe::new(rt).expect("can't create pipe");
        let options = ActorOptions::default();
        rt.spawn_local(
            NoSupervisor,
            actor_fn(local_reader),
            (receiver, report.clone()),
            options,
        );
        let options = ActorOptions::default();
        rt.spawn_local(
            NoSupervisor,
            actor_fn(local_writer),
            (sender, report),
            options,
        );
    });
    check_reports(&reports, &["reader", "writer"]);
}

/// The reader waits, then the sender is dropped (after a while, so the read
/// is surely waiting in the kernel): the read returns no bytes, and
/// `read_n` fails with `UnexpectedEof`.
#[test]
fn dropping_the_sender_ends_the_stream() {
    async fn dropper(ctx: actor::Context<(), ThreadLocal>, sender: Sender, report: Report) {
        let rt = ctx.runtime_ref().clone();
        let result = async {
            sender.write_all("abc").await?;
            Timer::after(rt, Duration::from_millis(50)).await;
            drop(sender);
            Ok(())
        };
        let _ = report.send(("dropper", result.await));
    }
    async fn waiter(ctx: actor::Context<(), ThreadLocal>, receiver: Receiver, report: Report) {
        let read = async {
            // Five bytes asked for, three sent before the sender is gone.
            let err = receiver.read_n(Vec::with_capacity(8), 5).await.unwrap_err();
            ensure!(err.kind() == io::ErrorKind::UnexpectedEof, "read_n: {err}");
            let buf = receiver.read(Vec::with_capacity(8)).await?;
            ensure!(buf.is_empty(), "read {buf:?} after the end");
            Ok(())
        };
        let rt = ctx.runtime_ref().clone();
        let _ = report.send(("waiter", Deadline::after(rt, TIMEOUT, read).await));
    }
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        let (sender, receiver) = pipe::new(rt).expect("can't create pipe");
        let options = ActorOptions::default();
        rt.spawn_local(
            NoSupervisor,
            actor_fn(waiter),
            (receiver, report.clone()),
            options,
        );
        let options = ActorOptions::default();
        rt.spawn_local(NoSupervisor, actor_fn(dropper), (sender, report), options);
    });
    check_reports(&reports, &["dropper", "waiter"]);
}

#[test]
fn writing_after_the_receiver_is_dropped_is_a_broken_pipe() {
    async fn writer(ctx: actor::Context<(), ThreadLocal>, report: Report) {
        let result = async {
            let (sender, receiver) = pipe::new(ctx.runtime_ref())?;
            sender.write_all("before").await?;
            drop(receiver);
            // The close is queued on the ring when the receiver is dropped;
            // the kernel may take a moment to see it.
            let mut last = Ok(());
            for _ in 0..100 {
                last = sender.write_all("after").await.map(drop);
                if last.is_err() {
                    break;
                }
                Timer::after(ctx.runtime_ref().clone(), Duration::from_millis(10)).await;
            }
            let err = last
                .err()
                .ok_or_else(|| io::Error::other("writes kept succeeding"))?;
            ensure!(err.kind() == io::ErrorKind::BrokenPipe, "write: {err}");
            Ok(())
        };
        let _ = report.send(("writer", result.await));
    }
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        rt.spawn_local(
            NoSupervisor,
            actor_fn(writer),
            report,
            ActorOptions::default(),
        );
    });
    check_reports(&reports, &["writer"]);
}

/// Thread-safe actors: the pipe is on the runtime's shared ring, the
/// reader spawned by the writer, on two workers.
#[test]
fn a_mebibyte_between_thread_safe_actors_on_the_shared_ring() {
    async fn writer(mut ctx: actor::Context<(), ThreadSafe>, report: Report) {
        let result = async {
            let (sender, receiver) = pipe::new(ctx.runtime_ref())?;
            let arg = (receiver, report.clone());
            let options = ActorOptions::default();
            ctx.runtime()
                .spawn(NoSupervisor, actor_fn(reader), arg, options);
            let rt = ctx.runtime_ref().clone();
            Deadline::after(rt, TIMEOUT, write_stream(sender)).await
        };
        let _ = report.send(("writer", result.await));
    }
    async fn reader(ctx: actor::Context<(), ThreadSafe>, receiver: Receiver, report: Report) {
        let rt = ctx.runtime_ref().clone();
        let _ = report.send((
            "reader",
            Deadline::after(rt, TIMEOUT, read_stream(receiver)).await,
        ));
    }
    let (report, reports) = mpsc::channel();
    let mut runtime = Runtime::setup()
        .num_threads(2)
        .build()
        .expect("can't build runtime");
    runtime.spawn(
        NoSupervisor,
        actor_fn(writer),
        report,
        ActorOptions::default(),
    );
    runtime.start().expect("runtime failed");
    check_reports(&reports, &["reader", "writer"]);
}

/// On the shared ring: the reader waits in the kernel, then a thread-safe
/// actor drops the sender and nothing else uses the ring. The close must
/// still reach the kernel (dropping an end kicks the coordinator), or the
/// reader would wait until its deadline.
#[test]
fn dropping_the_sender_ends_the_stream_on_the_shared_ring() {
    async fn dropper(ctx: actor::Context<(), ThreadSafe>, sender: Sender, report: Report) {
        // Long enough for the reader's read to be waiting in the kernel.
        Timer::after(ctx.runtime_ref().clone(), Duration::from_millis(100)).await;
        drop(sender);
        let _ = report.send(("dropper", Ok(())));
    }
    async fn waiter(mut ctx: actor::Context<(), ThreadSafe>, report: Report) {
        let rt = ctx.runtime_ref().clone();
        let result = async {
            let (sender, receiver) = pipe::new(ctx.runtime_ref())?;
            let arg = (sender, report.clone());
            let options = ActorOptions::default();
            ctx.runtime()
                .spawn(NoSupervisor, actor_fn(dropper), arg, options);
            let buf = receiver.read(Vec::with_capacity(8)).await?;
            ensure!(buf.is_empty(), "read {buf:?}");
            Ok(())
        };
        let _ = report.send(("waiter", Deadline::after(rt, TIMEOUT, result).await));
    }
    let (report, reports) = mpsc::channel();
    let mut runtime = Runtime::setup()
        .num_threads(2)
        .build()
        .expect("can't build runtime");
    runtime.spawn(
        NoSupervisor,
        actor_fn(waiter),
        report,
        ActorOptions::default(),
    );
    runtime.start().expect("runtime failed");
    check_reports(&reports, &["dropper", "waiter"]);
}
