//! Phase 5, huge unfinished blobs: many clients each send the start of a
//! 60 MB `BLOB` and stop. The server holds a blob's bytes until it is
//! whole, in fixed-size chunks taken from one memory budget for all
//! connections, so its resident memory must stay under what it was before
//! plus the budget plus [`SLACK`], however many clients do this; the blobs past the budget are refused
//! (`ERR memory budget exceeded`, the connection closed). A whole blob is
//! answered with its length and sum first.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use super::clients::connect;
use super::process::ServerProcess;
use super::{BLOB_BUDGET, MAX_BLOB};
use crate::report;

/// Clients in the full and the quick version.
const CLIENTS_FULL: usize = 200;
const CLIENTS_QUICK: usize = 40;
/// The length each blob announces, and the bytes of it each client sends
/// before it stops.
const ANNOUNCED: usize = 60_000_000;
const SENT: usize = 4 * 1024 * 1024;
/// A whole blob, sent first.
const WHOLE: usize = 1024 * 1024;
/// How long the clients hold their connections after all have sent: the
/// server reads what the socket buffers still hold meanwhile. Less than
/// the idle timeout, which would close the connections.
const HOLD: Duration = Duration::from_secs(1);
/// How much more than the budget the server's peak resident memory may be
/// above its resident memory before the phase: the connections' receive
/// and answer buffers and actors, the allocator's own data, and room for a
/// noisy run. The blobs are held in fixed-size chunks (see the server), so
/// the allocator keeps no copies left by growth. Measured: 0.7 to 6.5 MiB
/// above the budget (see `RELIABILITY.md`); with each blob in one `Vec`
/// grown by doubling it was up to 28 MiB.
pub(super) const SLACK: u64 = 16 * 1024 * 1024;

const _: () = assert!(ANNOUNCED <= MAX_BLOB && SENT < ANNOUNCED);

/// What the phase measured.
pub(super) struct Huge {
    pub(super) clients: usize,
    /// Bytes each client sent of its blob.
    pub(super) sent: usize,
    /// Blobs the budget refused; the others were held until their clients
    /// were done (or disconnected when idle).
    pub(super) refused: u64,
    /// The server's resident memory before the phase, and its peak during
    /// it.
    pub(super) before: u64,
    pub(super) peak: u64,
}

/// Runs the phase, see the module docs.
pub(super) fn huge_blobs(
    server: &ServerProcess,
    quick: bool,
    baseline_fds: u64,
) -> Result<Huge, String> {
    let address = server.address;
    whole_blob(address)?;
    let clients = if quick { CLIENTS_QUICK } else { CLIENTS_FULL };
    let refused_before = server.blobs_refused()?;
    let before = server.resident()?;
    server.reset_peak_resident()?;

    // Every client holds its connection until all have sent and the
    // server has read what the socket buffers still hold (`HOLD`, less than
    // its idle timeout): the server holds every blob it did not refuse at
    // once.
    let barrier = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let stream = unfinished_blob(address);
                barrier.wait();
                thread::sleep(HOLD);
                stream.map(drop)
            })
        })
        .collect();
    barrier.wait();
    for thread in threads {
        thread
            .join()
            .unwrap_or_else(|_| Err("panicked".to_owned()))
            .map_err(|err| format!("huge blob client: {err}"))?;
    }
    server.settled_descriptors(Some(baseline_fds))?;
    // The peak since the reset: the blobs are gone by now.
    let peak = server.peak_resident()?;
    let refused = server.blobs_refused()? - refused_before;
    report::check(peak <= before + BLOB_BUDGET as u64 + SLACK, || {
        format!(
            "the server's resident memory peaked at {} with {clients} clients each sending {} \
             of a blob: more than before ({}) + its memory budget ({}) + {}",
            report::bytes(peak),
            report::bytes(SENT as u64),
            report::bytes(before),
            report::bytes(BLOB_BUDGET as u64),
            report::bytes(SLACK)
        )
    })?;
    report::check(refused > 0, || {
        format!(
            "the memory budget refused none of {clients} blobs of which {} each were sent \
             (budget {})",
            report::bytes(SENT as u64),
            report::bytes(BLOB_BUDGET as u64)
        )
    })?;
    report::check(refused < clients as u64, || {
        "the memory budget refused every blob".to_owned()
    })?;
    Ok(Huge {
        clients,
        sent: SENT,
        refused,
        before,
        peak,
    })
}

/// Sends a whole blob; checks the answer: its length and the sum of its
/// bytes.
fn whole_blob(address: SocketAddr) -> Result<(), String> {
    let mut stream = connect(address).map_err(|err| format!("whole blob: {err}"))?;
    let data: Vec<u8> = (0..WHOLE).map(|i| (i % 251) as u8).collect();
    let sum: u64 = data.iter().map(|&b| u64::from(b)).sum();
    let mut request = format!("BLOB {WHOLE}\n").into_bytes();
    request.extend_from_slice(&data);
    stream
        .write_all(&request)
        .map_err(|err| format!("whole blob: {err}"))?;
    let mut answer = String::new();
    BufReader::new(&mut stream)
        .read_line(&mut answer)
        .map_err(|err| format!("whole blob: no answer: {err}"))?;
    report::check(answer == format!("BLOB {WHOLE} {sum}\n"), || {
        format!("whole blob: answered {answer:?}")
    })
}

/// Announces a blob of `ANNOUNCED` bytes and sends `SENT` of them; the
/// server may refuse it and close the connection meanwhile. Returns the
/// connection, if it is still open.
fn unfinished_blob(address: SocketAddr) -> Result<Option<TcpStream>, String> {
    let mut stream = connect(address).map_err(|err| err.to_string())?;
    let mut request = format!("BLOB {ANNOUNCED}\n").into_bytes();
    request.resize(request.len() + SENT, b'x');
    match stream.write_all(&request) {
        Ok(()) => Ok(Some(stream)),
        // Refused: the server closed the connection with bytes unread.
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
            ) =>
        {
            Ok(None)
        }
        Err(err) => Err(format!("can't send: {err}")),
    }
}
