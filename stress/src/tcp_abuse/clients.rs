//! The parent's clients: each kind of abuse, bounded in count and time,
//! checking what the server answers (see [`server`](super::server) for the
//! protocol).

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream as StdStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use kiln_rt::net::MemoryBudget;

use super::server::LineReader;
use super::{IDLE, MAX_LINE};
use crate::report::{self, Rng, duration};

/// Timeouts of the client sockets.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Storm client threads.
const STORM_THREADS: usize = 8;
/// Random-bytes client threads.
const RANDOM_THREADS: usize = 8;

/// Connects, with timeouts on everything.
pub(super) fn connect(address: SocketAddr) -> io::Result<StdStream> {
    let stream = StdStream::connect_timeout(&address, CLIENT_TIMEOUT)?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    Ok(stream)
}

/// Sends `request` and reads one line of answer.
pub(super) fn exchange(address: SocketAddr, request: &[u8]) -> io::Result<String> {
    let mut stream = connect(address)?;
    stream.write_all(request)?;
    let mut answer = String::new();
    BufReader::new(&mut stream).read_line(&mut answer)?;
    Ok(answer)
}

/// `PING`, answered `PONG`.
pub(super) fn ping(address: SocketAddr) -> Result<(), String> {
    match exchange(address, b"PING\n") {
        Ok(answer) if answer == "PONG\n" => Ok(()),
        Ok(answer) => Err(format!("PING answered {answer:?}")),
        Err(err) => Err(format!("PING failed: {err}")),
    }
}

/// Makes `close` send a reset (no `TIME_WAIT` left behind).
fn set_linger_zero(stream: &StdStream) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the descriptor is open (borrowed from `stream`) and `linger`
    // is a valid `linger` of the given size.
    let res = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if res == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The storm: `connections` connections from [`STORM_THREADS`] threads;
/// returns how long it took and the failures. Every thread stops at the
/// first failure (a server that stopped accepting would make each
/// connection wait for its timeout).
pub(super) fn storm(address: SocketAddr, connections: usize) -> (Duration, Vec<String>) {
    let start = Instant::now();
    let failed = AtomicBool::new(false);
    let failures: Vec<String> = thread::scope(|scope| {
        let threads: Vec<_> = (0..STORM_THREADS)
            .map(|t| {
                let failed = &failed;
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for i in (t..connections).step_by(STORM_THREADS) {
                        if failed.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Err(err) = storm_connection(address, i) {
                            failures.push(format!("connection {i} ({}): {err}", i % 4));
                            failed.store(true, Ordering::Relaxed);
                        }
                    }
                    failures
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap_or_else(|_| vec!["panicked".into()]))
            .collect()
    });
    (start.elapsed(), failures)
}

/// One storm connection; what it does depends on `i`, see the module docs.
fn storm_connection(address: SocketAddr, i: usize) -> io::Result<()> {
    let mut stream = connect(address)?;
    match i % 4 {
        // Closed at once.
        0 => drop(stream),
        // Reset at once.
        1 => set_linger_zero(&stream)?,
        // A PING answered.
        2 => {
            set_linger_zero(&stream)?;
            stream.write_all(b"PING\n")?;
            let mut answer = [0; 5];
            stream.read_exact(&mut answer)?;
            if &answer != b"PONG\n" {
                return Err(io::Error::other(format!("PING answered {answer:?}")));
            }
        }
        // Half a line, then closed.
        _ => stream.write_all(b"ECHO half a li")?,
    }
    Ok(())
}

/// What the random clients did.
pub(super) struct Random {
    /// Bytes sent.
    pub(super) sent: u64,
    /// Bytes answered (and checked).
    pub(super) answered: u64,
    /// Clients the server disconnected early (a line too long).
    pub(super) closed_early: u64,
}

/// `clients` clients sending random lines; checks every answer.
pub(super) fn random_clients(address: SocketAddr, clients: usize) -> Result<Random, String> {
    let sent = AtomicU64::new(0);
    let answered = AtomicU64::new(0);
    let closed_early = AtomicU64::new(0);
    thread::scope(|scope| {
        let threads: Vec<_> = (0..RANDOM_THREADS)
            .map(|t| {
                let (sent, answered, closed_early) = (&sent, &answered, &closed_early);
                scope.spawn(move || -> Result<(), String> {
                    for i in (t..clients).step_by(RANDOM_THREADS) {
                        let mut rng = Rng::new(0x7c9_0000 + i as u64);
                        let input = random_input(&mut rng, i);
                        let client = random_client(address, &input, &mut rng)
                            .map_err(|err| format!("random client {i}: {err}"))?;
                        sent.fetch_add(input.len() as u64, Ordering::Relaxed);
                        answered.fetch_add(client.answered, Ordering::Relaxed);
                        if client.closed_early {
                            closed_early.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for thread in threads {
            thread
                .join()
                .map_err(|_| "a random client thread panicked".to_owned())??;
        }
        Ok::<(), String>(())
    })?;
    Ok(Random {
        sent: sent.into_inner(),
        answered: answered.into_inner(),
        closed_early: closed_early.into_inner(),
    })
}

/// Random lines for client `i`: mostly garbage and commands with odd
/// arguments; every 16th client ends with a line too long.
fn random_input(rng: &mut Rng, i: usize) -> Vec<u8> {
    let mut input = Vec::new();
    let lines = 1 + rng.below(40);
    for _ in 0..lines {
        match rng.below(12) {
            // Random bytes, any value but '\n'.
            0..=3 => {
                for _ in 0..rng.below(200) {
                    let byte = rng.below(255) as u8;
                    input.push(if byte >= b'\n' { byte + 1 } else { byte });
                }
            }
            4 => input.extend_from_slice(b"PING"),
            5 => input.extend_from_slice(b"PING\r"),
            6 => {
                input.extend_from_slice(b"ECHO ");
                for _ in 0..rng.below(MAX_LINE as u64) {
                    input.push(b' ' + rng.below(95) as u8);
                }
            }
            7 => {
                let numbers = [
                    "0",
                    "1",
                    "18446744073709551615",
                    "18446744073709551616",
                    "-1",
                ];
                let a = numbers[rng.below(numbers.len() as u64) as usize];
                let b = numbers[rng.below(numbers.len() as u64) as usize];
                input.extend_from_slice(format!("ADD {a} {b}").as_bytes());
            }
            8 => input.extend_from_slice(b"ADD 1"),
            9 => input.extend_from_slice(b"\0\0\0 ECHO"),
            10 => input.extend_from_slice(b"ECHO \xff\xfe invalid UTF-8"),
            _ => {} // An empty line.
        }
        input.push(b'\n');
    }
    if i % 16 == 15 {
        input.extend(std::iter::repeat_n(
            b'A',
            MAX_LINE + 1 + rng.below(4096) as usize,
        ));
        input.push(b'\n');
    }
    input
}

/// What one random client saw.
struct RandomClient {
    answered: u64,
    closed_early: bool,
}

/// Sends `input` in random chunks while reading the answers, then closes
/// its side and reads to the end; the answers must be what [`respond`](super::server::respond)
/// says (a prefix of it if the server closes early).
fn random_client(address: SocketAddr, input: &[u8], rng: &mut Rng) -> io::Result<RandomClient> {
    let mut expected = Vec::new();
    // No random line is a control command: their answers are not checked.
    let unbounded = MemoryBudget::new(usize::MAX);
    let open = LineReader::default()
        .feed(
            input,
            &mut expected,
            &|_| String::new(),
            &mut unbounded.reservation(),
        )
        .map_err(io::Error::other)?;
    let closed_early = !open;
    let mut stream = connect(address)?;
    let mut chunks = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = (1 + rng.below(4096) as usize).min(rest.len());
        chunks.push(&rest[..n]);
        rest = &rest[n..];
    }
    let mut writer = stream.try_clone()?;
    let answer = thread::scope(|scope| {
        let write = scope.spawn(move || -> io::Result<()> {
            for chunk in chunks {
                writer.write_all(chunk)?;
            }
            writer.shutdown(Shutdown::Write)
        });
        let mut answer = Vec::new();
        let read = stream.read_to_end(&mut answer);
        let written = write
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("panicked")));
        (answer, read, written)
    });
    let (answer, read, written) = answer;
    if closed_early {
        // The server stops reading: our writes and reads may end in a
        // reset, and the reset may discard answers.
        if !expected.starts_with(&answer) {
            return Err(io::Error::other(format!(
                "answers are not a prefix of the expected ones: got {:?}, expected {:?}",
                String::from_utf8_lossy(&answer),
                String::from_utf8_lossy(&expected)
            )));
        }
    } else {
        read?;
        written?;
        if answer != expected {
            return Err(io::Error::other(format!(
                "wrong answers: got {:?}, expected {:?}",
                String::from_utf8_lossy(&answer),
                String::from_utf8_lossy(&expected)
            )));
        }
    }
    Ok(RandomClient {
        answered: answer.len() as u64,
        closed_early,
    })
}

/// Sends `PING\n` one byte per second for `window`, checking each `PONG`;
/// then the rest of the line at once. Returns the bytes sent.
pub(super) fn slow_client(mut stream: StdStream, window: Duration) -> Result<u64, String> {
    let start = Instant::now();
    let mut sent = 0_u64;
    let mut reader = BufReader::new(stream.try_clone().map_err(|err| err.to_string())?);
    let check_pong = |reader: &mut BufReader<StdStream>| -> Result<(), String> {
        let mut answer = String::new();
        reader
            .read_line(&mut answer)
            .map_err(|err| format!("no answer: {err}"))?;
        report::check(answer == "PONG\n", || {
            format!("answered {answer:?} (disconnected while sending slowly?)")
        })
    };
    while start.elapsed() + Duration::from_secs(1) <= window {
        let byte = b"PING\n"[(sent % 5) as usize];
        stream
            .write_all(&[byte])
            .map_err(|err| format!("disconnected while sending slowly: {err}"))?;
        sent += 1;
        if byte == b'\n' {
            check_pong(&mut reader)?;
        }
        thread::sleep(Duration::from_secs(1));
    }
    // The rest of the line: the partial line was kept.
    let rest = &b"PING\n"[(sent % 5) as usize..];
    stream
        .write_all(rest)
        .map_err(|err| format!("disconnected while sending slowly: {err}"))?;
    check_pong(&mut reader)?;
    Ok(sent)
}

/// Waits (at most the idle timeout and 2 s) for the server to close a
/// connection that sends nothing; returns how long after `connected` it
/// did, or `None` if it did not.
pub(super) fn silent_client(
    mut stream: StdStream,
    connected: Instant,
) -> Result<Option<Duration>, String> {
    let limit = IDLE + Duration::from_secs(2);
    stream
        .set_read_timeout(Some(
            limit
                .saturating_sub(connected.elapsed())
                .max(Duration::from_millis(1)),
        ))
        .map_err(|err| err.to_string())?;
    let mut buf = [0; 16];
    let result = stream.read(&mut buf);
    let after = connected.elapsed();
    match result {
        Ok(0) => {}
        Ok(n) => return Err(format!("got {n} bytes without asking")),
        Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
        Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            return Ok(None);
        }
        Err(err) => return Err(format!("can't read: {err}")),
    }
    // Not before the idle timeout (less the timer's rounding).
    report::check(after + Duration::from_millis(50) >= IDLE, || {
        format!(
            "disconnected after {}, before the idle timeout ({})",
            duration(after),
            duration(IDLE)
        )
    })?;
    Ok(Some(after))
}

/// Connects and sends `ECHO` lines without reading the answers until
/// nothing more goes out for 200 ms (the buffers on both sides are full);
/// returns the stream and when it stopped sending.
pub(super) fn fill_without_reading(address: SocketAddr) -> io::Result<(StdStream, Instant)> {
    let mut stream = connect(address)?;
    let mut line = b"ECHO ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 1_000));
    line.push(b'\n');
    let lines = line.repeat(64);
    stream.set_nonblocking(true)?;
    let mut blocked_since: Option<Instant> = None;
    let mut offset = 0;
    loop {
        match stream.write(&lines[offset..]) {
            Ok(n) => {
                offset = (offset + n) % lines.len();
                blocked_since = None;
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                let since = *blocked_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_millis(200) {
                    break;
                }
                thread::sleep(Duration::from_millis(5));
            }
            Err(err) => return Err(err),
        }
    }
    stream.set_nonblocking(false)?;
    Ok((stream, Instant::now()))
}

/// Holds a non-reading connection (its buffers full since `stopped`)
/// until the server closes it: probes it with a one-byte write every
/// 20 ms, which fails once the server has closed the connection (a reset:
/// it closed with bytes unread). Returns how long after `stopped` that
/// was; fails if the server did not within the idle timeout and 2 s.
pub(super) fn deaf_client(stream: StdStream, stopped: Instant) -> Result<Duration, String> {
    let limit = IDLE + Duration::from_secs(2);
    stream
        .set_nonblocking(true)
        .map_err(|err| err.to_string())?;
    loop {
        match (&stream).write(b"x") {
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::WouldBlock => {}
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
                ) =>
            {
                return Ok(stopped.elapsed());
            }
            Err(err) => return Err(format!("can't probe: {err}")),
        }
        if stopped.elapsed() > limit {
            return Err(format!(
                "not disconnected {} after it stopped reading (idle timeout {})",
                duration(limit),
                duration(IDLE)
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}
