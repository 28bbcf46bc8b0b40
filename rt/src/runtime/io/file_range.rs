//! [`FileRange`]: the part of a file that `TcpStream::send_file` sends,
//! and the loop both drivers send it with, a chunk at a time (io_uring
//! splices each chunk through a pipe, the poll driver calls `sendfile(2)`).

use std::future::Future;
use std::io;
use std::os::fd::BorrowedFd;

/// `length` bytes of `file` from `offset`.
#[derive(Copy, Clone, Debug)]
pub(crate) struct FileRange<'fd> {
    pub(crate) file: BorrowedFd<'fd>,
    pub(crate) offset: u64,
    pub(crate) length: u64,
}

impl FileRange<'_> {
    /// Sends the range in chunks of at most `max_chunk` bytes: `send(offset,
    /// chunk)` sends (up to) `chunk` bytes of the file from `offset` and
    /// returns how many it sent, none at the end of the file. Stops early at
    /// the end of the file; returns how many bytes were sent.
    pub(crate) async fn send_in_chunks<F, Fut>(self, max_chunk: u64, mut send: F) -> io::Result<u64>
    where
        F: FnMut(u64, u64) -> Fut,
        Fut: Future<Output = io::Result<u64>>,
    {
        let mut sent = 0;
        while sent < self.length {
            let chunk = (self.length - sent).min(max_chunk);
            let n = send(self.offset + sent, chunk).await?;
            if n == 0 {
                break; // End of the file.
            }
            sent += n;
        }
        Ok(sent)
    }
}
