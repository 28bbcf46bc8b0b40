//! TCP: [`TcpListener`] accepts connections, [`TcpStream`] is one.

mod listener;
mod stream;

pub use listener::{Incoming, TcpListener};
pub use stream::TcpStream;
