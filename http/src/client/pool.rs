//! The client's connections ([`Conn`]) and its pool of idle ones
//! ([`Pool`]), with the runtime access and the configuration they use:
//! what [`Client`](crate::client::Client) and its
//! [`ResponseBody`](crate::client::ResponseBody) share.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kiln_rt::access::Access;
use kiln_rt::net::TcpStream;
use kiln_rt::timer::Deadline;

use crate::client::config::ClientConfig;
use crate::proto::input::Input;

/// Bytes of room made in a connection's input before each receive.
const RECV_SIZE: usize = 16 * 1024;

/// Idle connections kept for reuse, and how to make new ones.
pub(crate) struct Pool<RT> {
    rt: RT,
    config: ClientConfig,
    idle: RefCell<Vec<Idle>>,
}

/// A connection in the pool.
struct Idle {
    conn: Conn,
    since: Instant,
}

/// A connection of the client.
pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    pub(crate) address: SocketAddr,
    /// Bytes received and not used yet.
    pub(crate) input: Input,
}

impl<RT: Access + Clone> Pool<RT> {
    pub(crate) const fn new(rt: RT, config: ClientConfig) -> Pool<RT> {
        Pool {
            rt,
            config,
            idle: RefCell::new(Vec::new()),
        }
    }

    /// The runtime access the connections and timers use.
    pub(crate) const fn rt(&self) -> &RT {
        &self.rt
    }

    /// The client's configuration.
    pub(crate) const fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Connects to `address` under the connect timeout; the stream's read
    /// and write timeouts are the configuration's.
    pub(crate) async fn connect(&self, address: SocketAddr) -> io::Result<Conn> {
        let connect = TcpStream::connect(&self.rt, address);
        let mut stream =
            Deadline::after(self.rt.clone(), self.config.connect_timeout(), connect).await?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(self.config.read_timeout()))?;
        stream.set_write_timeout(Some(self.config.write_timeout()))?;
        Ok(Conn {
            stream,
            address,
            input: Input::default(),
        })
    }

    /// A pooled connection to `address` that has been idle for less than
    /// `max_idle` (and the pool's idle timeout).
    pub(crate) fn take(&self, address: SocketAddr, max_idle: Duration) -> Option<Conn> {
        let mut idle = self.idle.borrow_mut();
        let timeout = self.config.idle_timeout();
        idle.retain(|idle| idle.since.elapsed() < timeout);
        let index = idle
            .iter()
            .rposition(|idle| idle.conn.address == address && idle.since.elapsed() < max_idle)?;
        Some(idle.swap_remove(index).conn)
    }

    /// Puts a connection whose response was read whole back in the pool.
    pub(crate) fn give_back(&self, conn: Conn) {
        if self.config.max_idle() == 0 || !conn.input.is_empty() {
            return; // Bytes after the response: out of step, drop it.
        }
        let mut idle = self.idle.borrow_mut();
        if idle.len() >= self.config.max_idle() {
            idle.remove(0); // The oldest.
        }
        idle.push(Idle {
            conn,
            since: Instant::now(),
        });
    }

    /// The number of idle connections.
    pub(crate) fn len(&self) -> usize {
        self.idle.borrow().len()
    }
}

impl<RT> fmt::Debug for Pool<RT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("config", &self.config)
            .field("idle", &self.idle.borrow().len())
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Receives more bytes, by `deadline` if given (and within the
    /// stream's read timeout); returns how many (0: closed).
    pub(crate) async fn recv<RT: Access + Clone>(
        &mut self,
        rt: &RT,
        deadline: Option<Instant>,
    ) -> io::Result<usize> {
        let buf = self.input.take_buffer(RECV_SIZE);
        let before = buf.len();
        let recv = self.stream.recv(buf);
        let buf = match deadline {
            Some(deadline) => Deadline::at(rt.clone(), deadline, recv).await?,
            None => recv.await?,
        };
        let received = buf.len() - before;
        self.input.put_back(buf);
        Ok(received)
    }
}
