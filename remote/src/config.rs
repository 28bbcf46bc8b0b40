//! [`Config`]: what a node is told at start.

use std::net::SocketAddr;
use std::time::Duration;

use crate::frame::MIN_FRAME_LIMIT;
use crate::tls::Security;

#[cfg(test)]
mod tests;

/// The largest per-peer send queue (a kiln inbox's largest size).
const MAX_SEND_QUEUE: usize = 65_536;

/// The configuration of a [`Node`](crate::Node): its cluster and name,
/// where it listens, whom it joins, how links are secured, and limits and
/// timings with defaults for a LAN.
///
/// ```
/// use std::time::Duration;
/// use kiln_remote::{Config, Security};
///
/// let config = Config::new("shop", "node-1", "127.0.0.1:0".parse().unwrap(), Security::InsecurePlaintext)
///     .with_seeds(["127.0.0.1:7100".parse().unwrap()])
///     .with_probe_period(Duration::from_millis(500));
/// assert_eq!(config.name(), "node-1");
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) cluster: String,
    pub(crate) name: String,
    pub(crate) listen: SocketAddr,
    pub(crate) seeds: Vec<SocketAddr>,
    pub(crate) security: Security,
    pub(crate) send_queue: usize,
    pub(crate) max_frame: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) stall_timeout: Duration,
    pub(crate) reconnect_min: Duration,
    pub(crate) reconnect_max: Duration,
    pub(crate) probe_period: Duration,
    pub(crate) probe_timeout: Duration,
    pub(crate) suspect_timeout: Duration,
}

impl Config {
    /// A node `name` of cluster `cluster`, listening on `listen` (port 0
    /// picks a free port), its links secured by `security`.
    ///
    /// With TLS the node's certificate must be valid for `name` (a DNS
    /// name such as `node-1` or `db.example.com`), and peers check it.
    pub fn new(
        cluster: impl Into<String>,
        name: impl Into<String>,
        listen: SocketAddr,
        security: Security,
    ) -> Config {
        Config {
            cluster: cluster.into(),
            name: name.into(),
            listen,
            seeds: Vec::new(),
            security,
            send_queue: 1024,
            max_frame: 16 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            stall_timeout: Duration::from_secs(10),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            probe_period: Duration::from_millis(1000),
            probe_timeout: Duration::from_millis(500),
            suspect_timeout: Duration::from_secs(3),
        }
    }

    /// Nodes to join through (any live member will do); the node keeps
    /// trying them, with backoff, until it has a link to one.
    pub fn with_seeds(mut self, seeds: impl IntoIterator<Item = SocketAddr>) -> Config {
        self.seeds = seeds.into_iter().collect();
        self
    }

    /// Messages queued per peer before `try_send` fails with `Full`
    /// (1 to 65,536; default 1,024).
    pub const fn with_send_queue(mut self, messages: usize) -> Config {
        self.send_queue = messages;
        self
    }

    /// The largest frame (an encoded message with its names) sent or
    /// accepted, in bytes (at least 1 KiB, at most 4 GiB; default 16 MiB).
    /// A peer announcing a larger frame is disconnected.
    pub const fn with_max_frame_size(mut self, bytes: usize) -> Config {
        self.max_frame = bytes;
        self
    }

    /// How long connecting, the TLS handshake and the `Hello` exchange may
    /// take together (above zero; default 5 s).
    pub const fn with_connect_timeout(mut self, timeout: Duration) -> Config {
        self.connect_timeout = timeout;
        self
    }

    /// How long a link may make no progress sending before it is closed
    /// (above zero; default 10 s): a socket send that does not complete, or messages
    /// waiting for flow-control credit that the peer does not grant (it
    /// stopped reading, or its actor stopped taking messages). A peer that
    /// stops reading loses its link rather than holding its send queue for
    /// ever; what was queued for it is lost (at most once).
    pub const fn with_stall_timeout(mut self, timeout: Duration) -> Config {
        self.stall_timeout = timeout;
        self
    }

    /// The first and the longest wait before connecting again to a node
    /// whose link failed, doubling in between (default 100 ms to 5 s).
    pub const fn with_reconnect_backoff(mut self, first: Duration, longest: Duration) -> Config {
        self.reconnect_min = first;
        self.reconnect_max = longest;
        self
    }

    /// SWIM: how often a node probes one member (default 1 s).
    pub const fn with_probe_period(mut self, period: Duration) -> Config {
        self.probe_period = period;
        self
    }

    /// SWIM: how long a probe waits for its answer before asking others to
    /// probe indirectly (default 500 ms; less than the probe period).
    pub const fn with_probe_timeout(mut self, timeout: Duration) -> Config {
        self.probe_timeout = timeout;
        self
    }

    /// SWIM: how long a suspected member has to refute it before it is
    /// declared dead (above zero; default 3 s).
    ///
    /// A node that stops answering is declared dead by the others within
    /// about `probe_period × (members − 1) + probe_period +
    /// suspect_timeout` (each member probes the others round robin), and
    /// usually much sooner: the first member to probe it spreads the
    /// suspicion.
    pub const fn with_suspect_timeout(mut self, timeout: Duration) -> Config {
        self.suspect_timeout = timeout;
        self
    }

    /// The cluster's name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks what can be checked before starting; the error says what to
    /// change.
    pub(crate) fn check(&self) -> Result<(), String> {
        for (what, value) in [("cluster", &self.cluster), ("node", &self.name)] {
            if value.is_empty() || value.len() > 255 {
                return Err(format!("the {what} name must be 1 to 255 bytes long"));
            }
            if value.chars().any(char::is_control) {
                return Err(format!(
                    "the {what} name '{}' has control characters",
                    value.escape_debug()
                ));
            }
        }
        if !(1..=MAX_SEND_QUEUE).contains(&self.send_queue) {
            return Err(format!(
                "the send queue must hold 1 to {MAX_SEND_QUEUE} messages, not {}",
                self.send_queue
            ));
        }
        if self.max_frame < MIN_FRAME_LIMIT || u32::try_from(self.max_frame).is_err() {
            return Err(format!(
                "the frame size limit must be {MIN_FRAME_LIMIT} bytes to 4 GiB, not {}",
                self.max_frame
            ));
        }
        for (what, timeout) in [
            ("connect timeout", self.connect_timeout),
            ("stall timeout", self.stall_timeout),
            ("suspect timeout", self.suspect_timeout),
        ] {
            if timeout.is_zero() {
                return Err(format!("the {what} must be above zero"));
            }
        }
        if self.probe_timeout >= self.probe_period {
            return Err(format!(
                "the probe timeout ({:?}) must be shorter than the probe period ({:?})",
                self.probe_timeout, self.probe_period
            ));
        }
        if self.reconnect_min.is_zero() || self.reconnect_min > self.reconnect_max {
            return Err(
                "the reconnect backoff must start above zero and not above its longest wait"
                    .to_owned(),
            );
        }
        Ok(())
    }
}
