//! [`TraceFile`]: the trace file of a runtime, which its threads' logs
//! append their chunks to.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::runtime::lock::lock;
use crate::trace::format;

/// The trace file of a runtime, shared by its threads.
#[derive(Debug)]
pub(crate) struct TraceFile {
    file: Mutex<File>,
    /// Time zero of the trace.
    pub(crate) epoch: Instant,
    pub(crate) next_stream: AtomicU32,
    /// Set after a write failed (logged once; later events are dropped).
    failed: AtomicBool,
}

impl TraceFile {
    /// Creates (or truncates) the file at `path` and writes the header.
    pub(crate) fn create(path: &Path) -> io::Result<Arc<TraceFile>> {
        let mut file = File::create(path)?;
        let epoch = Instant::now();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(0));
        let mut header = Vec::with_capacity(16);
        header.extend_from_slice(format::MAGIC);
        header.extend_from_slice(&unix.to_le_bytes());
        file.write_all(&header)?;
        Ok(Arc::new(TraceFile {
            file: Mutex::new(file),
            epoch,
            next_stream: AtomicU32::new(0),
            failed: AtomicBool::new(false),
        }))
    }

    /// Appends `records` as a chunk of `stream`.
    pub(crate) fn write_chunk(&self, stream: u32, records: &[u8]) {
        if records.is_empty() || self.failed.load(Ordering::Relaxed) {
            return;
        }
        let Ok(len) = u32::try_from(records.len()) else {
            return;
        };
        let mut header = [0; 8];
        header[..4].copy_from_slice(&stream.to_le_bytes());
        header[4..].copy_from_slice(&len.to_le_bytes());
        let mut file = lock(&self.file);
        let result = file
            .write_all(&header)
            .and_then(|()| file.write_all(records));
        drop(file);
        if let Err(err) = result
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            log::error!("can't write the trace, recording no more events: {err}");
        }
    }
}
