//! [`ClientConfig`]: a client's limits, timeouts, pool and redirects.

use std::time::Duration;

use crate::proto::limits::Limits;

/// A client's limits and timeouts, all on by default, its pool of idle
/// connections, and whether it follows redirects (not by default).
///
/// ```
/// use std::time::Duration;
/// use kiln_http::client::ClientConfig;
///
/// let config = ClientConfig::default()
///     .with_response_timeout(Duration::from_secs(5))
///     .with_redirects(3);
/// assert_eq!(config.redirects(), 3);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    limits: Limits,
    connect_timeout: Duration,
    response_timeout: Duration,
    read_timeout: Duration,
    write_timeout: Duration,
    idle_timeout: Duration,
    max_idle: usize,
    redirects: usize,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            limits: Limits::default(),
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            max_idle: 16,
            redirects: 0,
        }
    }
}

impl ClientConfig {
    /// The size limits of responses: head, headers, and bodies read whole
    /// (`max_request_line` is not used).
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets the size limits of responses.
    pub const fn with_limits(mut self, limits: Limits) -> ClientConfig {
        self.limits = limits;
        self
    }

    /// How long connecting may take; 10 s by default.
    pub const fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Sets the [`connect_timeout`](ClientConfig::connect_timeout).
    pub const fn with_connect_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.connect_timeout = timeout;
        self
    }

    /// How long the server may take to send the whole response head after
    /// the request was sent; 30 s by default.
    pub const fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// Sets the [`response_timeout`](ClientConfig::response_timeout).
    pub const fn with_response_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.response_timeout = timeout;
        self
    }

    /// How long each receive of a response body may wait; 30 s by default.
    pub const fn read_timeout(&self) -> Duration {
        self.read_timeout
    }

    /// Sets the [`read_timeout`](ClientConfig::read_timeout).
    pub const fn with_read_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.read_timeout = timeout;
        self
    }

    /// How long sending the request may wait; 30 s by default.
    pub const fn write_timeout(&self) -> Duration {
        self.write_timeout
    }

    /// Sets the [`write_timeout`](ClientConfig::write_timeout).
    pub const fn with_write_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.write_timeout = timeout;
        self
    }

    /// How long an idle connection stays in the pool; 30 s by default
    /// (servers close idle connections too, 60 s for kiln's).
    pub const fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Sets the [`idle_timeout`](ClientConfig::idle_timeout).
    pub const fn with_idle_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.idle_timeout = timeout;
        self
    }

    /// The most idle connections kept for reuse; 16 by default, 0 for no
    /// reuse.
    pub const fn max_idle(&self) -> usize {
        self.max_idle
    }

    /// Sets the [`max_idle`](ClientConfig::max_idle) connections.
    pub const fn with_max_idle(mut self, max: usize) -> ClientConfig {
        self.max_idle = max;
        self
    }

    /// The most redirects followed for one request; 0 (the default) means
    /// redirects are returned as they are.
    pub const fn redirects(&self) -> usize {
        self.redirects
    }

    /// Sets the [`redirects`](ClientConfig::redirects) followed.
    pub const fn with_redirects(mut self, max: usize) -> ClientConfig {
        self.redirects = max;
        self
    }
}
