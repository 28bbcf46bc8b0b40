//! Files on the runtime: writing and reading back (every byte checked),
//! positional I/O, metadata and length, directory operations, errors that
//! name the path, file I/O in thread-safe actors (the shared ring), and
//! `TcpStream::send_file` of a file to a std client.

use std::future::Future;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use kiln::actor;
use kiln::actor_fn;
use kiln::supervisor::NoSupervisor;
use kiln_rt::Spawn;
use kiln_rt::fs::{self, File, OpenOptions};
use kiln_rt::net::TcpListener;
use kiln_rt::timer::Deadline;
use kiln_rt::{ActorOptions, RuntimeRef, ThreadLocal, ThreadSafe};

mod util;

use util::check::ensure;
use util::pattern::pattern;
use util::runtime::{run_on_one_worker, run_runtime};
use util::temp_dir::TempDir;
use util::timeout::TIMEOUT;

/// Fails unless `got` is `want`, naming the first byte that differs.
fn check_bytes(got: &[u8], want: &[u8]) -> io::Result<()> {
    if let Some(at) = got.iter().zip(want).position(|(g, w)| g != w) {
        return Err(io::Error::other(format!(
            "byte {at} is {} instead of {}",
            got[at], want[at]
        )));
    }
    ensure!(
        got.len() == want.len(),
        "got {} bytes instead of {}",
        got.len(),
        want.len()
    );
    Ok(())
}

/// The future of a test's actor.
type LocalFuture = Pin<Box<dyn Future<Output = io::Result<()>>>>;
/// What a thread-local actor of a test does, given its runtime access.
type Body = Box<dyn FnOnce(ThreadLocal) -> LocalFuture>;

fn body<F, Fut>(f: F) -> Body
where
    F: FnOnce(ThreadLocal) -> Fut + 'static,
    Fut: Future<Output = io::Result<()>> + 'static,
{
    Box::new(move |rt| Box::pin(f(rt)))
}

type Results = mpsc::Sender<(usize, io::Result<()>)>;

/// Runs `body` (bounded by `TIMEOUT`) and reports its result.
async fn runner(ctx: actor::Context<(), ThreadLocal>, index: usize, body: Body, results: Results) {
    let rt = ctx.runtime_ref().clone();
    let result = Deadline::after(rt.clone(), TIMEOUT, body(rt)).await;
    let _ = results.send((index, result));
}

/// Runs the bodies `setup` makes, each as a thread-local actor, on a
/// one-worker runtime until they all finished; returns their results in
/// order.
fn run_local<F>(setup: F) -> Vec<io::Result<()>>
where
    F: FnOnce(&mut RuntimeRef) -> Vec<Body> + Send + 'static,
{
    let spawned = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = mpsc::channel();
    let count = spawned.clone();
    run_on_one_worker(move |rt| {
        let bodies = setup(rt);
        count.store(bodies.len(), Ordering::SeqCst);
        for (index, body) in bodies.into_iter().enumerate() {
            let arg = (index, body, sender.clone());
            rt.spawn_local(NoSupervisor, actor_fn(runner), arg, ActorOptions::default());
        }
    });
    collect(&receiver, spawned.load(Ordering::SeqCst))
}

/// The results of `count` actors, in order; panics if one did not report
/// (it panicked).
fn collect(
    receiver: &mpsc::Receiver<(usize, io::Result<()>)>,
    count: usize,
) -> Vec<io::Result<()>> {
    let mut results: Vec<Option<io::Result<()>>> = (0..count).map(|_| None).collect();
    for (index, result) in receiver.try_iter() {
        results[index] = Some(result);
    }
    results
        .into_iter()
        .enumerate()
        .map(|(index, result)| {
            result.unwrap_or_else(|| panic!("actor {index} did not report (did it panic?)"))
        })
        .collect()
}

/// Runs one thread-local actor and fails the test if it fails.
#[track_caller]
fn run_one<F, Fut>(f: F)
where
    F: FnOnce(ThreadLocal) -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<()>> + 'static,
{
    for result in run_local(move |_| vec![body(f)]) {
        if let Err(err) = result {
            panic!("actor failed: {err}");
        }
    }
}

/// Reads `file` from its position to its end, in reads of at most 4 KiB.
async fn read_to_end(file: &File) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        buf = file.read(buf).await?;
        if buf.is_empty() {
            return Ok(all);
        }
        all.extend_from_slice(&buf);
    }
}

#[test]
fn written_file_reads_back_every_byte() {
    let dir = TempDir::new("read-back");
    let path = dir.join("data");
    run_one(move |rt| async move {
        let data = pattern(300 * 1024 + 17, 0x5a);
        let file = File::create(&rt, &path).await?;
        // In pieces of odd sizes, so writes straddle page boundaries.
        let mut written = 0;
        for piece in data.chunks(10_007) {
            let (_, n) = file.write(piece.to_vec()).await?;
            // A short write to a regular file is rare but allowed.
            let rest = file.write_all(piece[n..].to_vec()).await?;
            written += n + rest.len();
        }
        ensure!(written == data.len(), "wrote {written} bytes");
        // Writing nothing succeeds (as with std), whatever the position.
        let empty = file.write_all(Vec::new()).await?;
        ensure!(empty.is_empty(), "write_all changed the buffer");
        file.write_all_at(Vec::new(), 1 << 40).await?;
        file.sync_all().await?;
        drop(file);

        let file = File::open(&rt, &path).await?;
        check_bytes(&read_to_end(&file).await?, &data)?;
        // The position is at the end now: nothing more to read.
        let buf = file.read(Vec::with_capacity(16)).await?;
        ensure!(buf.is_empty(), "read {} bytes past the end", buf.len());

        // `read_n` in one go, from a fresh file position.
        let file = File::open(&rt, &path).await?;
        let all = file
            .read_n(Vec::with_capacity(data.len()), data.len())
            .await?;
        check_bytes(&all, &data)?;
        // Asking for more than is left fails.
        let err = file.read_n(Vec::with_capacity(8), 8).await.unwrap_err();
        ensure!(
            err.kind() == io::ErrorKind::UnexpectedEof,
            "read_n past the end: {err}"
        );
        Ok(())
    });
    // Checked once more with std, outside the runtime.
    let on_disk = std::fs::read(dir.join("data")).unwrap();
    check_bytes(&on_disk, &pattern(300 * 1024 + 17, 0x5a)).unwrap();
}

#[test]
fn positional_reads_and_writes_leave_the_position_alone() {
    let dir = TempDir::new("positional");
    let path = dir.join("data");
    run_one(move |rt| async move {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&rt, &path)
            .await?;
        // Written out of order, the second past the current end.
        file.write_all_at(b"world".to_vec(), 6).await?;
        file.write_all_at(b"hello ".to_vec(), 0).await?;
        let (_, n) = file.write_at(b"!".to_vec(), 11).await?;
        ensure!(n == 1, "write_at wrote {n} bytes");

        // Positional reads at several offsets.
        let buf = file.read_at(Vec::with_capacity(64), 0).await?;
        ensure!(
            buf == b"hello world!",
            "read {:?}",
            String::from_utf8_lossy(&buf)
        );
        let buf = file.read_at(Vec::with_capacity(3), 4).await?;
        ensure!(
            buf == b"o w",
            "read_at 4: {:?}",
            String::from_utf8_lossy(&buf)
        );
        let buf = file.read_n_at(Vec::with_capacity(5), 5, 6).await?;
        ensure!(
            buf == b"world",
            "read_n_at 6: {:?}",
            String::from_utf8_lossy(&buf)
        );
        let buf = file.read_at(Vec::with_capacity(8), 100).await?;
        ensure!(buf.is_empty(), "read {} bytes past the end", buf.len());

        // None of the above moved the position: it is still 0.
        file.write_all(b"HELLO".to_vec()).await?;
        let buf = file.read(Vec::with_capacity(64)).await?;
        ensure!(
            buf == b" world!",
            "read from the position: {:?}",
            String::from_utf8_lossy(&buf)
        );
        let buf = file.read_at(Vec::with_capacity(64), 0).await?;
        ensure!(
            buf == b"HELLO world!",
            "whole file: {:?}",
            String::from_utf8_lossy(&buf)
        );

        // A big positional write and read, checked byte by byte.
        let data = pattern(64 * 1024 + 3, 7);
        file.write_all_at(data.clone(), 5000).await?;
        let buf = file
            .read_n_at(Vec::with_capacity(data.len()), data.len(), 5000)
            .await?;
        check_bytes(&buf, &data)?;
        // The gap between the old end and offset 5000 reads as zeros.
        let gap = file
            .read_n_at(Vec::with_capacity(5000 - 12), 5000 - 12, 12)
            .await?;
        ensure!(gap.iter().all(|&b| b == 0), "the gap is not zeros");
        Ok(())
    });
}

#[test]
fn append_writes_at_the_end() {
    let dir = TempDir::new("append");
    let path = dir.join("log");
    std::fs::write(&path, "first\n").unwrap();
    let log = path.clone();
    run_one(move |rt| async move {
        let file = OpenOptions::new().append(true).open(&rt, &log).await?;
        file.write_all("second\n").await?;
        // Even a positional write goes to the end (as `pwrite(2)` on Linux).
        file.write_all_at("third\n", 0).await?;
        Ok(())
    });
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "first\nsecond\nthird\n"
    );
}

#[test]
fn metadata_and_set_len() {
    let dir = TempDir::new("metadata");
    let path = dir.join("data");
    let directory = dir.path().to_owned();
    run_one(move |rt| async move {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(&rt, &path)
            .await?;
        let metadata = file.metadata().await?;
        ensure!(
            metadata.len() == 0,
            "new file has length {}",
            metadata.len()
        );
        ensure!(metadata.is_file() && !metadata.is_dir(), "{metadata:?}");
        let permissions = metadata.permissions();
        // The umask may take bits away, never add them.
        ensure!(
            permissions.owner_can_read() && !permissions.others_can_write(),
            "permissions {permissions:?}"
        );
        ensure!(
            !permissions.owner_can_execute(),
            "permissions {permissions:?}"
        );

        file.write_all(pattern(1000, 1)).await?;
        let len = file.metadata().await?.len();
        ensure!(len == 1000, "length {len} after writing 1000 bytes");

        file.set_len(10).await?;
        let len = file.metadata().await?.len();
        ensure!(len == 10, "length {len} after set_len(10)");
        file.set_len(4096).await?;
        let len = file.metadata().await?.len();
        ensure!(len == 4096, "length {len} after set_len(4096)");
        let all = file.read_n_at(Vec::with_capacity(4096), 4096, 0).await?;
        check_bytes(&all[..10], &pattern(10, 1))?;
        ensure!(
            all[10..].iter().all(|&b| b == 0),
            "the extension is not zeros"
        );

        // A directory opened for reading: its metadata says so.
        let dir = File::open(&rt, &directory).await?;
        let metadata = dir.metadata().await?;
        ensure!(metadata.is_dir() && !metadata.is_file(), "{metadata:?}");
        Ok(())
    });
}

#[test]
fn metadata_matches_std() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = TempDir::new("metadata-std");
    let path = dir.join("file");
    std::fs::write(&path, pattern(777, 3)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o751)).unwrap();
    run_one(move |rt| async move {
        let want = std::fs::metadata(&path)?;
        let got = File::open(&rt, &path).await?.metadata().await?;
        ensure!(
            got.len() == want.len(),
            "length {} != {}",
            got.len(),
            want.len()
        );
        ensure!(got.is_file() && got.file_type().is_file(), "{got:?}");
        let mode = want.permissions().mode() & 0o777;
        ensure!(
            got.permissions().mode() == mode,
            "permissions {:o} != {mode:o}",
            got.permissions().mode()
        );
        ensure!(got.modified() == want.modified()?, "{got:?} vs {want:?}");
        ensure!(got.accessed() == want.accessed()?, "{got:?} vs {want:?}");
        ensure!(u64::from(got.block_size()) == want.blksize(), "{got:?}");
        let parent = File::open(&rt, path.parent().unwrap())
            .await?
            .metadata()
            .await?;
        ensure!(
            parent.file_type().is_dir() && !parent.is_file(),
            "{parent:?}"
        );
        Ok(())
    });
}

#[test]
fn create_rename_and_remove_files_and_directories() {
    let dir = TempDir::new("directories");
    let root = dir.path().to_owned();
    run_one(move |rt| async move {
        let sub = root.join("sub");
        fs::create_dir(&rt, &sub).await?;
        ensure!(sub.is_dir(), "create_dir made no directory");
        let err = fs::create_dir(&rt, &sub).await.unwrap_err();
        ensure!(err.kind() == io::ErrorKind::AlreadyExists, "{err}");

        let old = sub.join("old");
        File::create(&rt, &old).await?.write_all("contents").await?;
        let new = sub.join("new");
        fs::rename(&rt, &old, &new).await?;
        let err = File::open(&rt, &old).await.unwrap_err();
        ensure!(err.kind() == io::ErrorKind::NotFound, "old name: {err}");
        let buf = File::open(&rt, &new)
            .await?
            .read(Vec::with_capacity(64))
            .await?;
        ensure!(buf == b"contents", "renamed file holds {buf:?}");

        // A directory that is not empty stays.
        let err = fs::remove_dir(&rt, &sub).await.unwrap_err();
        ensure!(err.kind() == io::ErrorKind::DirectoryNotEmpty, "{err}");
        // Removing a directory as a file fails.
        ensure!(
            fs::remove_file(&rt, &sub).await.is_err(),
            "removed a directory as a file"
        );

        fs::remove_file(&rt, &new).await?;
        ensure!(!new.exists(), "remove_file left the file");
        fs::remove_dir(&rt, &sub).await?;
        ensure!(!sub.exists(), "remove_dir left the directory");
        Ok(())
    });
}

#[test]
fn errors_name_the_path() {
    let dir = TempDir::new("errors");
    let root = dir.path().to_owned();
    run_one(move |rt| async move {
        let missing = root.join("missing").join("file");
        let shown = missing.display().to_string();
        let expect = |err: io::Error, kind: io::ErrorKind, start: &str| -> io::Result<()> {
            let message = err.to_string();
            ensure!(
                err.kind() == kind,
                "{message}: kind {:?}, not {kind:?}",
                err.kind()
            );
            ensure!(
                message.starts_with(start),
                "{message:?} does not start with {start:?}"
            );
            Ok(())
        };

        let err = File::open(&rt, &missing).await.unwrap_err();
        expect(
            err,
            io::ErrorKind::NotFound,
            &format!("can't open {shown}: "),
        )?;
        let err = File::create(&rt, &missing).await.unwrap_err();
        expect(
            err,
            io::ErrorKind::NotFound,
            &format!("can't open {shown}: "),
        )?;
        let err = fs::remove_file(&rt, &missing).await.unwrap_err();
        expect(
            err,
            io::ErrorKind::NotFound,
            &format!("can't remove file {shown}: "),
        )?;
        let err = fs::remove_dir(&rt, &missing).await.unwrap_err();
        expect(
            err,
            io::ErrorKind::NotFound,
            &format!("can't remove directory {shown}: "),
        )?;
        let err = fs::create_dir(&rt, &missing).await.unwrap_err();
        expect(
            err,
            io::ErrorKind::NotFound,
            &format!("can't create directory {shown}: "),
        )?;
        let to = root.join("to");
        let err = fs::rename(&rt, &missing, &to).await.unwrap_err();
        let start = format!("can't rename {shown} to {}: ", to.display());
        expect(err, io::ErrorKind::NotFound, &start)?;

        // Options that make no sense are refused before the kernel sees them.
        let exists = root.join("exists");
        std::fs::write(&exists, "x")?;
        let shown = exists.display().to_string();
        let err = OpenOptions::new().open(&rt, &exists).await.unwrap_err();
        expect(
            err,
            io::ErrorKind::InvalidInput,
            &format!("can't open {shown}: "),
        )?;
        let err = OpenOptions::new()
            .read(true)
            .create(true)
            .open(&rt, &exists)
            .await
            .unwrap_err();
        expect(
            err,
            io::ErrorKind::InvalidInput,
            &format!("can't open {shown}: "),
        )?;
        let err = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&rt, &exists)
            .await
            .unwrap_err();
        expect(
            err,
            io::ErrorKind::AlreadyExists,
            &format!("can't open {shown}: "),
        )?;
        // Read-only: writing fails (EBADF), the file is unchanged.
        let file = File::open(&rt, &exists).await?;
        ensure!(
            file.write_all("y").await.is_err(),
            "wrote to a read-only file"
        );
        Ok(())
    });
    assert_eq!(std::fs::read_to_string(dir.join("exists")).unwrap(), "x");
}

/// Several files written and read by actors at once, each file checked.
#[test]
fn many_actors_write_and_read_files_at_once() {
    let dir = TempDir::new("many");
    let root = dir.path().to_owned();
    let results = run_local(move |_| {
        (0..8u8)
            .map(|i| {
                let path = root.join(format!("file-{i}"));
                body(move |rt| async move {
                    let data = pattern(50_000 + usize::from(i) * 1000, i);
                    let file = File::create(&rt, &path).await?;
                    file.write_all(data.clone()).await?;
                    drop(file);
                    let file = File::open(&rt, &path).await?;
                    check_bytes(&read_to_end(&file).await?, &data)
                })
            })
            .collect()
    });
    assert_eq!(results.len(), 8);
    for (i, result) in results.into_iter().enumerate() {
        if let Err(err) = result {
            panic!("actor {i} failed: {err}");
        }
    }
}

/// A thread-safe actor: its files use the runtime's shared ring.
async fn thread_safe_file_io(
    ctx: actor::Context<(), ThreadSafe>,
    path: PathBuf,
    results: mpsc::Sender<io::Result<()>>,
) {
    async fn file_io(rt: &ThreadSafe, path: &Path) -> io::Result<()> {
        let data = pattern(200 * 1024 + 1, 3);
        let file = File::create(rt, path).await?;
        file.write_all(data.clone()).await?;
        file.sync_data().await?;
        let len = file.metadata().await?.len();
        ensure!(len == data.len() as u64, "length {len}");
        drop(file);
        let file = File::open(rt, path).await?;
        check_bytes(&read_to_end(&file).await?, &data)?;
        let buf = file.read_n_at(Vec::with_capacity(10), 10, 251).await?;
        check_bytes(&buf, &data[251..261])?;
        drop(file);
        fs::remove_file(rt, path).await?;
        let err = File::open(rt, path).await.unwrap_err();
        ensure!(err.kind() == io::ErrorKind::NotFound, "{err}");
        Ok(())
    }
    let rt = ctx.runtime_ref().clone();
    let result = Deadline::after(rt.clone(), TIMEOUT, file_io(&rt, &path)).await;
    let _ = results.send(result);
}

#[test]
fn thread_safe_actors_do_file_io_on_the_shared_ring() {
    let dir = TempDir::new("thread-safe");
    let (sender, receiver) = mpsc::channel();
    let paths: Vec<_> = (0..4).map(|i| dir.join(&format!("file-{i}"))).collect();
    run_runtime(2, move |runtime| {
        for path in paths {
            runtime.spawn(
                NoSupervisor,
                actor_fn(thread_safe_file_io),
                (path, sender.clone()),
                ActorOptions::default(),
            );
        }
    });
    let results: Vec<_> = receiver.try_iter().collect();
    assert_eq!(results.len(), 4, "not every actor reported");
    for result in results {
        result.expect("thread-safe file I/O failed");
    }
}

/// Connects to `address` and returns everything the server sends until it
/// closes the connection.
fn std_client(address: SocketAddr) -> io::Result<Vec<u8>> {
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    let mut received = Vec::new();
    stream.read_to_end(&mut received)?;
    Ok(received)
}

/// Length of the file `send_file` sends.
const SEND_LEN: usize = 200 * 1024;

/// What each connection asks `send_file` for: offset and length.
const SEND_CASES: [(u64, u64); 4] = [
    (0, SEND_LEN as u64),
    (100_000, 50_000),
    // Past the end of the file: stops there.
    (150_000, u64::MAX),
    (SEND_LEN as u64, 10),
];

/// Accepts a connection for each of `SEND_CASES` and sends it that part of
/// the file at `path`.
async fn serve_file<RT: kiln_rt::Access>(
    rt: &RT,
    path: &Path,
    address: mpsc::Sender<SocketAddr>,
) -> io::Result<()> {
    let listener = TcpListener::bind(rt, "127.0.0.1:0".parse().unwrap())?;
    address.send(listener.local_addr()?).unwrap();
    let file = File::open(rt, path).await?;
    for (offset, length) in SEND_CASES {
        let (stream, _) = listener.accept().await?;
        let sent = stream.send_file(&file, offset, length).await?;
        let want = length.min((SEND_LEN as u64).saturating_sub(offset));
        ensure!(
            sent == want,
            "send_file({offset}, {length}) sent {sent} bytes, not {want}"
        );
    }
    Ok(())
}

/// Sets up the file, runs `serve` (which serves it with `serve_file`) and
/// checks what a std client received.
fn check_send_file(test: &str, serve: impl FnOnce(PathBuf, mpsc::Sender<SocketAddr>)) {
    let dir = TempDir::new(test);
    let path = dir.join("data");
    let data = pattern(SEND_LEN, 9);
    std::fs::write(&path, &data).unwrap();
    let (address_sender, address_receiver) = mpsc::channel();
    let client = thread::spawn(move || -> Vec<io::Result<Vec<u8>>> {
        let address = address_receiver
            .recv_timeout(TIMEOUT)
            .expect("no address from the server");
        // One connection at a time, in order.
        SEND_CASES.iter().map(|_| std_client(address)).collect()
    });
    serve(path, address_sender);
    let received = client.join().expect("the client panicked");
    for (result, (offset, length)) in received.into_iter().zip(SEND_CASES) {
        let got = result.unwrap_or_else(|err| panic!("client ({offset}, {length}): {err}"));
        let start = (offset as usize).min(SEND_LEN);
        let end = offset.saturating_add(length).min(SEND_LEN as u64) as usize;
        if let Err(err) = check_bytes(&got, &data[start..end]) {
            panic!("send_file({offset}, {length}): {err}");
        }
    }
}

#[test]
fn send_file_to_a_std_client() {
    check_send_file("send-file", |path, address| {
        run_one(move |rt| async move { serve_file(&rt, &path, address).await });
    });
}

/// `send_file` from a thread-safe actor: the stream, the file and the
/// splices on the shared ring.
#[test]
fn send_file_from_a_thread_safe_actor() {
    async fn server(
        ctx: actor::Context<(), ThreadSafe>,
        path: PathBuf,
        address: mpsc::Sender<SocketAddr>,
        result: mpsc::Sender<io::Result<()>>,
    ) {
        let rt = ctx.runtime_ref().clone();
        let serve = Deadline::after(rt.clone(), TIMEOUT, serve_file(&rt, &path, address));
        let _ = result.send(serve.await);
    }
    check_send_file("send-file-thread-safe", |path, address| {
        let (sender, receiver) = mpsc::channel();
        run_runtime(2, move |runtime| {
            let arg = (path, address, sender);
            runtime.spawn(NoSupervisor, actor_fn(server), arg, ActorOptions::default());
        });
        receiver
            .try_recv()
            .expect("the server did not report")
            .expect("the server failed");
    });
}
