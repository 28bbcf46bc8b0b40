//! The parent's handle on the server child process: starting and stopping
//! it, and what `/proc/<pid>` and the server's control commands say about
//! it (descriptors, resident memory, CPU time, heap, counters), and its
//! descriptor limit (`prlimit`).

use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use super::clients::exchange;
use super::{CHILD, SERVER};
use crate::report::{self, Figure, duration};

/// How long to wait for the child's descriptors to return to the baseline.
const SETTLE: Duration = Duration::from_secs(10);

/// The server child process; killed when dropped if it still runs.
pub(super) struct ServerProcess {
    child: Child,
    pid: libc::pid_t,
    /// Where the server listens.
    pub(super) address: SocketAddr,
    /// The child's stderr so far.
    stderr: Arc<Mutex<String>>,
    stdout: Option<thread::JoinHandle<String>>,
}

impl ServerProcess {
    pub(super) fn spawn(exe: &std::path::Path) -> Result<ServerProcess, String> {
        let mut child = Command::new(exe)
            .args([CHILD, SERVER])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| format!("can't start {}: {err}", exe.display()))?;
        let pid = libc::pid_t::try_from(child.id()).map_err(|_| "pid out of range")?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut stderr_pipe = BufReader::new(child.stderr.take().expect("piped stderr"));
        let collected = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut line = String::new();
            while stderr_pipe.read_line(&mut line).unwrap_or(0) != 0 {
                lock(&collected).push_str(&line);
                line.clear();
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let (first_sender, first) = mpsc::channel();
        let stdout = thread::spawn(move || {
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = first_sender.send(line);
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest);
            rest
        });
        let mut process = ServerProcess {
            child,
            pid,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
            stdout: Some(stdout),
        };
        let line = first
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| format!("the server did not start: {}", process.stderr()))?;
        process.address = line
            .strip_prefix("listening on ")
            .and_then(|address| address.trim().parse().ok())
            .ok_or_else(|| {
                format!(
                    "unexpected first line from the server: {line:?}; stderr: {}",
                    process.stderr()
                )
            })?;
        Ok(process)
    }

    pub(super) fn stderr(&self) -> String {
        lock(&self.stderr).clone()
    }

    /// Fails if the child has exited or said it panicked.
    pub(super) fn check_alive(&mut self, when: &str) -> Result<(), String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(format!(
                "the server exited {when} ({status}): {}",
                self.stderr()
            ));
        }
        let stderr = self.stderr();
        report::check(!stderr.contains("panicked"), || {
            format!("the server panicked {when}: {stderr}")
        })
    }

    /// The child's open descriptors.
    pub(super) fn descriptors(&self) -> Result<u64, String> {
        let entries = std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map_err(|err| format!("can't list the server's descriptors: {err}"))?;
        Ok(entries.count() as u64)
    }

    /// Waits until the descriptor count is back at `baseline` (at most
    /// [`SETTLE`]), or, without a baseline, until it has been stable for
    /// half a second; returns it.
    pub(super) fn settled_descriptors(&self, baseline: Option<u64>) -> Result<u64, String> {
        let give_up = Instant::now() + SETTLE;
        let mut last = self.descriptors()?;
        let mut stable_since = Instant::now();
        loop {
            thread::sleep(Duration::from_millis(20));
            let now = self.descriptors()?;
            match baseline {
                Some(baseline) if now <= baseline => return Ok(now),
                None if now == last && stable_since.elapsed() >= Duration::from_millis(500) => {
                    return Ok(now);
                }
                _ => {}
            }
            if now != last {
                last = now;
                stable_since = Instant::now();
            }
            if Instant::now() > give_up {
                return Err(match baseline {
                    Some(baseline) => format!(
                        "the server's descriptors did not return to the baseline: \
                         {now} open, {baseline} at the baseline"
                    ),
                    None => format!("the server's descriptors never settled ({now} open)"),
                });
            }
        }
    }

    /// The child's resident memory, in bytes.
    pub(super) fn resident(&self) -> Result<u64, String> {
        let statm = std::fs::read_to_string(format!("/proc/{}/statm", self.pid))
            .map_err(|err| format!("can't read the server's memory: {err}"))?;
        let pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|pages| pages.parse().ok())
            .ok_or_else(|| format!("unexpected statm: {statm:?}"))?;
        Ok(pages * page_size())
    }

    /// The child's peak resident memory (`VmHWM`), in bytes.
    pub(super) fn peak_resident(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .map_err(|err| format!("can't read the server's status: {err}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .ok_or_else(|| "no VmHWM in the server's status".to_owned())
    }

    /// Resets the child's peak resident memory to its resident memory now
    /// (writes `5` to `/proc/<pid>/clear_refs`).
    pub(super) fn reset_peak_resident(&self) -> Result<(), String> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5")
            .map_err(|err| format!("can't reset the server's peak resident memory: {err}"))
    }

    /// The child's user and system CPU time.
    pub(super) fn cpu_time(&self) -> Result<Duration, String> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .map_err(|err| format!("can't read the server's CPU time: {err}"))?;
        // The fields after the command name (which may hold spaces).
        let fields: Vec<&str> = stat
            .rfind(')')
            .map(|end| stat[end + 2..].split(' ').collect())
            .unwrap_or_default();
        // utime and stime are fields 14 and 15 of stat, 12 and 13 here.
        let ticks = |i: usize| fields.get(i).and_then(|t| t.parse::<u64>().ok());
        let (Some(user), Some(system)) = (ticks(11), ticks(12)) else {
            return Err(format!("unexpected stat: {stat:?}"));
        };
        // SAFETY: `sysconf` has no preconditions.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let per_second = u64::try_from(per_second).unwrap_or(100).max(1);
        Ok(Duration::from_secs_f64(
            (user + system) as f64 / per_second as f64,
        ))
    }

    /// The server's count of connections it has started actors for.
    pub(super) fn connections(&self) -> Result<u64, String> {
        self.control("STATS", "connections")
    }

    /// The server's count of blobs its memory budget refused.
    pub(super) fn blobs_refused(&self) -> Result<u64, String> {
        self.control("STATS", "blobs-refused")
    }

    /// Makes the server's allocator give its cached memory back
    /// (`malloc_trim`), so that resident memory shows what is in use.
    pub(super) fn trim(&self) -> Result<(), String> {
        let answer = exchange(self.address, b"TRIM\n").map_err(|err| format!("TRIM: {err}"))?;
        report::check(answer == "TRIMMED\n", || {
            format!("unexpected TRIM answer: {answer:?}")
        })
    }

    /// Starts counting the server's heap bytes.
    pub(super) fn start_heap_count(&self) -> Result<(), String> {
        self.control::<i64>("HEAPSTART", "HEAP").map(drop)
    }

    /// The server's heap bytes allocated since [`start_heap_count`] and not
    /// freed.
    ///
    /// [`start_heap_count`]: ServerProcess::start_heap_count
    pub(super) fn heap_change(&self) -> Result<i64, String> {
        self.control("HEAP", "HEAP")
    }

    /// Sends control command `command` and parses the number after `field`
    /// in its answer.
    fn control<T: std::str::FromStr>(&self, command: &str, field: &str) -> Result<T, String> {
        let request = format!("{command}\n");
        let answer = exchange(self.address, request.as_bytes())
            .map_err(|err| format!("{command}: {err}"))?;
        let words: Vec<&str> = answer.split_whitespace().collect();
        words
            .windows(2)
            .find(|pair| pair[0] == field)
            .and_then(|pair| pair[1].parse().ok())
            .ok_or_else(|| format!("unexpected {command} answer: {answer:?}"))
    }

    /// Sets the child's `RLIMIT_NOFILE` soft limit; returns the old one.
    pub(super) fn set_descriptor_limit(&self, soft: u64) -> Result<u64, String> {
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `old` is a valid, writable `rlimit`; a null new limit only
        // reads.
        let res = unsafe {
            libc::prlimit(
                self.pid,
                libc::RLIMIT_NOFILE,
                std::ptr::null(),
                &raw mut old,
            )
        };
        if res == -1 {
            return Err(format!(
                "can't read the server's descriptor limit: {}",
                io::Error::last_os_error()
            ));
        }
        let new = libc::rlimit {
            rlim_cur: soft,
            rlim_max: old.rlim_max,
        };
        // SAFETY: `new` is a valid `rlimit`; the old limit is not asked for.
        let res = unsafe {
            libc::prlimit(
                self.pid,
                libc::RLIMIT_NOFILE,
                &raw const new,
                std::ptr::null_mut(),
            )
        };
        if res == -1 {
            return Err(format!(
                "can't set the server's descriptor limit (prlimit): {}",
                io::Error::last_os_error()
            ));
        }
        Ok(old.rlim_cur)
    }

    /// Sends SIGTERM; the child must exit 0 within `limit` without a
    /// panic. `stalled` says which stalled clients are connected.
    pub(super) fn stop(&mut self, limit: Duration, stalled: &str) -> Result<Vec<Figure>, String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(format!(
                "the server had exited already ({status}): {}",
                self.stderr()
            ));
        }
        // SAFETY: `kill` takes no pointers; the child is not waited for yet,
        // so its pid is not reused.
        let res = unsafe { libc::kill(self.pid, libc::SIGTERM) };
        if res == -1 {
            return Err(format!(
                "can't stop the server: {}",
                io::Error::last_os_error()
            ));
        }
        let sent = Instant::now();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if sent.elapsed() < limit => {
                    thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    return Err(format!(
                        "the server did not exit within {} of SIGTERM with {stalled} \
                         connected: {}",
                        duration(limit),
                        self.stderr()
                    ));
                }
                Err(err) => return Err(format!("can't wait for the server: {err}")),
            }
        };
        let took = sent.elapsed();
        let stdout = self
            .stdout
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        let stderr = self.stderr();
        report::check(!stderr.contains("panicked"), || {
            format!("the server panicked: {stderr}")
        })?;
        report::check(status.success(), || {
            format!("the server failed ({status}): {stderr}")
        })?;
        let stats = stdout
            .lines()
            .find_map(|line| line.strip_prefix("STATS "))
            .unwrap_or("(none)")
            .to_owned();
        Ok(vec![
            Figure::new(
                format!("server exit after SIGTERM, {stalled} connected (limit)"),
                format!("0, in {} ({})", duration(took), duration(limit)),
            ),
            Figure::new("server's counters at exit", stats),
            Figure::new("server panics", 0),
        ])
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn page_size() -> u64 {
    // SAFETY: `sysconf` has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
}
