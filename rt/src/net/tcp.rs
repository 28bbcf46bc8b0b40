//! TCP: [`TcpListener`] accepts connections, [`TcpStream`] is one.

mod listener;
mod stream;

pub(crate) use listener::bound_socket;
pub use listener::{Incoming, TcpListener};
pub use stream::TcpStream;
