//! [`IoDriver`]: which I/O driver a runtime uses, and how it is chosen.

use std::fmt;
use std::str::FromStr;

/// The I/O driver of a runtime: io_uring, or readiness through epoll where
/// io_uring is blocked. Every I/O type works on both; user code does not
/// change.
///
/// Chosen when the runtime is built, by [`Setup::with_io_driver`] and, over
/// that, the environment variable `KILN_IO_DRIVER` (`auto`, `uring` or
/// `poll`), so an operator can switch without a rebuild:
///
/// - [`Auto`](IoDriver::Auto) (the default) tries io_uring and falls back to
///   epoll on *any* error creating or probing a ring (`ENOSYS` on an old
///   kernel, `EPERM` under a seccomp profile such as Docker's default or
///   with `kernel.io_uring_disabled`, `ENOMEM` from the memlock limit,
///   `EMFILE`, ...), logging once, at info level, which driver it runs and
///   why.
/// - [`Uring`](IoDriver::Uring) forces io_uring: building fails, with an
///   error that names the cause, if it cannot be used.
/// - [`Poll`](IoDriver::Poll) forces epoll.
///
/// [`RuntimeMetrics::io_driver`](crate::metrics::RuntimeMetrics::io_driver)
/// says which one a runtime runs.
///
/// [`Setup::with_io_driver`]: crate::Setup::with_io_driver
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IoDriver {
    /// io_uring if it can be used, else epoll.
    #[default]
    Auto,
    /// io_uring (Linux 6.6 or later, not blocked).
    Uring,
    /// Readiness through epoll.
    Poll,
}

impl IoDriver {
    /// The name of the environment variable that overrides the setup.
    pub const ENV: &'static str = "KILN_IO_DRIVER";

    /// The driver `KILN_IO_DRIVER` asks for: `None` if it is not set, an
    /// error naming the value if it is not `auto`, `uring` or `poll`.
    pub fn from_env() -> Result<Option<IoDriver>, InvalidIoDriver> {
        match std::env::var(IoDriver::ENV) {
            Ok(value) => value.parse().map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(value)) => Err(InvalidIoDriver {
                value: value.to_string_lossy().into_owned(),
            }),
        }
    }

    /// The name `KILN_IO_DRIVER` takes: `auto`, `uring` or `poll`.
    pub const fn name(self) -> &'static str {
        match self {
            IoDriver::Auto => "auto",
            IoDriver::Uring => "uring",
            IoDriver::Poll => "poll",
        }
    }
}

impl fmt::Display for IoDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IoDriver::Auto => "auto",
            IoDriver::Uring => "io_uring",
            IoDriver::Poll => "epoll",
        })
    }
}

impl FromStr for IoDriver {
    type Err = InvalidIoDriver;

    /// `auto`, `uring` (or `io_uring`) and `poll` (or `epoll`), in any case,
    /// with surrounding white space ignored.
    fn from_str(value: &str) -> Result<IoDriver, InvalidIoDriver> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(IoDriver::Auto),
            "uring" | "io_uring" => Ok(IoDriver::Uring),
            "poll" | "epoll" => Ok(IoDriver::Poll),
            _ => Err(InvalidIoDriver {
                value: value.to_owned(),
            }),
        }
    }
}

/// A value of `KILN_IO_DRIVER` (or a string parsed as an [`IoDriver`]) that
/// names no driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidIoDriver {
    value: String,
}

impl InvalidIoDriver {
    /// The value that named no driver.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for InvalidIoDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown I/O driver '{}': use auto, uring or poll",
            self.value
        )
    }
}

impl std::error::Error for InvalidIoDriver {}

#[cfg(test)]
mod tests {
    use super::IoDriver;

    #[test]
    fn names_parse_back() {
        for driver in [IoDriver::Auto, IoDriver::Uring, IoDriver::Poll] {
            assert_eq!(driver.name().parse::<IoDriver>(), Ok(driver));
        }
        assert_eq!(" EPOLL\n".parse::<IoDriver>(), Ok(IoDriver::Poll));
        assert_eq!("io_uring".parse::<IoDriver>(), Ok(IoDriver::Uring));
        let err = "kqueue".parse::<IoDriver>().unwrap_err();
        assert_eq!(err.value(), "kqueue");
        assert!(err.to_string().contains("auto, uring or poll"), "{err}");
    }
}
