//! [`ServerConfig`]: a server's limits and timeouts.

use std::io;
use std::time::Duration;

use crate::proto::limits::Limits;

/// A server's limits and timeouts, all on by default; each passed limit
/// gets its status and a log line at debug level, and costs nothing to
/// other connections.
///
/// ```
/// use std::time::Duration;
/// use kiln_http::server::ServerConfig;
///
/// let config = ServerConfig::default()
///     .with_idle_timeout(Duration::from_secs(5))
///     .with_max_body_size(64 * 1024);
/// assert_eq!(config.limits().max_body_size, 64 * 1024);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    limits: Limits,
    head_timeout: Duration,
    idle_timeout: Duration,
    body_timeout: Duration,
    write_timeout: Duration,
    shutdown_timeout: Duration,
    max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            limits: Limits::default(),
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            max_connections: 10_000,
        }
    }
}

impl ServerConfig {
    /// The size limits of requests ([`Limits`]).
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets all size limits at once.
    pub const fn with_limits(mut self, limits: Limits) -> ServerConfig {
        self.limits = limits;
        self
    }

    /// Sets the most headers a request may have (431 past it).
    pub const fn with_max_headers(mut self, max: usize) -> ServerConfig {
        self.limits.max_headers = max;
        self
    }

    /// Sets the most bytes of a request head (431 past it).
    pub const fn with_max_head_size(mut self, max: usize) -> ServerConfig {
        self.limits.max_head_size = max;
        self
    }

    /// Sets the most bytes of a request line (414 past it).
    pub const fn with_max_request_line(mut self, max: usize) -> ServerConfig {
        self.limits.max_request_line = max;
        self
    }

    /// Sets the most bytes of a body read whole (413 past it).
    pub const fn with_max_body_size(mut self, max: usize) -> ServerConfig {
        self.limits.max_body_size = max;
        self
    }

    /// The time a client has to send a whole request head, from its first
    /// byte (from the connection for the first request): the defence
    /// against slowloris. 408 and close when it passes. 10 s by default.
    pub const fn head_timeout(&self) -> Duration {
        self.head_timeout
    }

    /// Sets the [`head_timeout`](ServerConfig::head_timeout).
    pub const fn with_head_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.head_timeout = timeout;
        self
    }

    /// How long a keep-alive connection may stay idle between requests
    /// before the server closes it (silently). 60 s by default.
    pub const fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Sets the [`idle_timeout`](ServerConfig::idle_timeout).
    pub const fn with_idle_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.idle_timeout = timeout;
        self
    }

    /// How long each receive of a request body may wait for bytes; 408
    /// and close when it passes. 30 s by default.
    pub const fn body_timeout(&self) -> Duration {
        self.body_timeout
    }

    /// Sets the [`body_timeout`](ServerConfig::body_timeout).
    pub const fn with_body_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.body_timeout = timeout;
        self
    }

    /// How long each send of a response may wait for a client that does not
    /// read; the connection is closed when it passes. 30 s by default.
    pub const fn write_timeout(&self) -> Duration {
        self.write_timeout
    }

    /// Sets the [`write_timeout`](ServerConfig::write_timeout).
    pub const fn with_write_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.write_timeout = timeout;
        self
    }

    /// How long in-flight requests may take to finish once a graceful
    /// shutdown started; every wait of a connection ends by then, and a
    /// connection actor still busy (a slow handler) is dropped and its
    /// connection closed. 10 s by default.
    pub const fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// Sets the [`shutdown_timeout`](ServerConfig::shutdown_timeout).
    pub const fn with_shutdown_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.shutdown_timeout = timeout;
        self
    }

    /// The most connections the server of one worker serves at once; at
    /// the limit it stops accepting until one closes (new connections wait
    /// in the listener's backlog: see [`Server`](crate::server::Server),
    /// "Connection limit", for why not 503). 10,000 per worker by default.
    pub const fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Sets the [`max_connections`](ServerConfig::max_connections) per
    /// worker.
    pub const fn with_max_connections(mut self, max: usize) -> ServerConfig {
        self.max_connections = max;
        self
    }

    /// Fails with [`io::ErrorKind::InvalidInput`], naming the setting, if a
    /// timeout or a limit is zero (it would fail every request).
    pub(crate) fn validate(&self) -> io::Result<()> {
        let timeouts = [
            ("head_timeout", self.head_timeout),
            ("idle_timeout", self.idle_timeout),
            ("body_timeout", self.body_timeout),
            ("write_timeout", self.write_timeout),
        ];
        let limits = [
            ("max_connections", self.max_connections),
            ("max_headers", self.limits.max_headers),
            ("max_head_size", self.limits.max_head_size),
            ("max_request_line", self.limits.max_request_line),
        ];
        let zero = timeouts
            .iter()
            .find(|(_, timeout)| timeout.is_zero())
            .map(|(name, _)| name)
            .or_else(|| limits.iter().find(|(_, n)| *n == 0).map(|(name, _)| name));
        match zero {
            Some(name) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "ServerConfig's {name} is zero, which would fail every request: give it a value above zero"
                ),
            )),
            None => Ok(()),
        }
    }
}
