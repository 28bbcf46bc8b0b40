//! Pipes between actors: more bytes than a pipe holds from a writer actor to
//! a reader actor (every byte checked), the end of the stream once the
//! sender is dropped, a broken pipe once the receiver is, on a worker's ring
//! and on the shared ring of thread-safe actors; vectored writes and reads.

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

/// Runs `write` with the sender and `read` with the receiver of a new
/// pipe, each in a thread-local actor of one worker, for at most `TIMEOUT`,
/// and checks that both succeeded.
#[track_caller]
fn run_writer_and_reader<W, R>(write: fn(Sender) -> W, read: fn(Receiver) -> R)
where
    W: Future<Output = io::Result<()>> + 'static,
    R: Future<Output = io::Result<()>> + 'static,
{
    /// Runs `run` with one end of the pipe; reports as `name`.
    async fn end<E, Fut>(
        ctx: actor::Context<(), ThreadLocal>,
        (end, run, name): (E, fn(E) -> Fut, &'static str),
        report: Report,
    ) where
        Fut: Future<Output = io::Result<()>>,
    {
        let rt = ctx.runtime_ref().clone();
        let _ = report.send((name, Deadline::after(rt, TIMEOUT, run(end)).await));
    }
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        let (sender, receiver) = pipe::new(rt).expect("can't create pipe");
        let options = ActorOptions::default();
        let arg = ((receiver, read, "reader"), report.clone());
        rt.spawn_local(NoSupervisor, actor_fn(end::<Receiver, R>), arg, options);
        let arg = ((sender, write, "writer"), report);
        rt.spawn_local(NoSupervisor, actor_fn(end::<Sender, W>), arg, options);
    });
    check_reports(&reports, &["reader", "writer"]);
}

#[test]
fn a_mebibyte_from_a_writer_actor_to_a_reader_actor() {
    run_writer_and_reader(write_stream, read_stream);
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

/// Writes `LEN` bytes as three buffers a call (`write_all_vectored`, and
/// `write_vectored`, which may be short), then drops the sender.
async fn write_stream_vectored(sender: Sender) -> io::Result<()> {
    let mut at = 0;
    let mut piece = 1;
    let mut call = 0;
    while at < LEN {
        // Three pieces of different lengths, in stream order.
        let lens = [piece, piece / 2 + 1, piece / 3 + 7].map(|len: usize| len.min(LEN));
        let mut start = at;
        let bufs = lens.map(|len| {
            let end = (start + len).min(LEN);
            let buf: Vec<u8> = (start..end).map(byte).collect();
            start = end;
            buf
        });
        if call % 2 == 0 {
            let bufs = sender.write_all_vectored(bufs).await?;
            at += bufs.iter().map(Vec::len).sum::<usize>();
        } else {
            let (_, n) = sender.write_vectored(bufs).await?;
            ensure!(n > 0, "wrote nothing");
            at += n;
        }
        call += 1;
        piece = (piece * 3 + 1) % 30_001;
    }
    drop(sender);
    Ok(())
}

/// Reads until the end of the stream into three buffers a call, with
/// `read_vectored` and `read_n_vectored`, checking every byte in order.
async fn read_stream_vectored(receiver: Receiver) -> io::Result<()> {
    let mut at = 0;
    let mut call = 0;
    loop {
        let bufs = [7, 1000, 4096].map(Vec::with_capacity);
        let bufs = if call % 2 == 0 || LEN - at < 1000 {
            receiver.read_vectored(bufs).await?
        } else {
            // Enough bytes to spill into the second buffer.
            receiver.read_n_vectored(bufs, 1000).await?
        };
        let read: usize = bufs.iter().map(Vec::len).sum();
        if read == 0 {
            break;
        }
        // Each buffer is filled before the next gets a byte.
        ensure!(
            bufs[1].is_empty() || bufs[0].len() == 7,
            "second buffer used with the first not full"
        );
        ensure!(
            bufs[2].is_empty() || bufs[1].len() == 1000,
            "third buffer used with the second not full"
        );
        for (i, b) in bufs.iter().flatten().enumerate() {
            ensure!(
                *b == byte(at + i),
                "byte {} is {b}, not {}",
                at + i,
                byte(at + i)
            );
        }
        at += read;
        call += 1;
    }
    ensure!(at == LEN, "read {at} bytes, not {LEN}");
    Ok(())
}

/// Vectored writes and reads through a pipe: a mebibyte, more than the
/// pipe holds, every byte checked in order.
#[test]
fn a_mebibyte_written_and_read_vectored() {
    run_writer_and_reader(write_stream_vectored, read_stream_vectored);
}

/// A mebibyte and an empty buffer last, written whole with
/// `write_all_vectored`: the pipe takes only part of it a write, and every
/// byte must still arrive (a10 alone stops after the first short write when
/// the last buffer is empty).
#[test]
fn write_all_vectored_with_an_empty_last_buffer_writes_everything() {
    async fn write(sender: Sender) -> io::Result<()> {
        let bytes: Vec<u8> = (0..LEN).map(byte).collect();
        let [bytes, empty] = sender.write_all_vectored([bytes, Vec::new()]).await?;
        ensure!(bytes.len() == LEN && empty.is_empty(), "buffers changed");
        Ok(())
    }
    run_writer_and_reader(write, read_stream);
}

/// Empty buffers are written at once (a10 alone fails with `WriteZero`);
/// `read_n_vectored` fails with `UnexpectedEof` when the stream ends short,
/// and `read_vectored` then reads nothing.
#[test]
fn vectored_edge_cases() {
    async fn actor(ctx: actor::Context<(), ThreadLocal>, report: Report) {
        let result = async {
            let (sender, receiver) = pipe::new(ctx.runtime_ref())?;
            let empty = sender
                .write_all_vectored([Vec::new(), Vec::new()])
                .await
                .map_err(|err| io::Error::other(format!("empty write: {err}")))?;
            ensure!(empty.iter().all(Vec::is_empty), "empty buffers changed");
            sender.write_all_vectored(["ab", "", "cde"]).await?;
            drop(sender);
            let bufs = [Vec::with_capacity(2), Vec::with_capacity(8)];
            match receiver.read_n_vectored(bufs, 6).await {
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {}
                other => ensure!(false, "read_n_vectored of 6 of 5 bytes: {other:?}"),
            }
            let bufs = receiver
                .read_vectored([Vec::with_capacity(4), Vec::with_capacity(4)])
                .await?;
            ensure!(
                bufs.iter().all(Vec::is_empty),
                "read {bufs:?} after the end"
            );
            Ok(())
        };
        let rt = ctx.runtime_ref().clone();
        let _ = report.send(("actor", Deadline::after(rt, TIMEOUT, result).await));
    }
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        rt.spawn_local(
            NoSupervisor,
            actor_fn(actor),
            report,
            ActorOptions::default(),
        );
    });
    check_reports(&reports, &["actor"]);
}
