//! Reading requests from a byte stream as a server does, with the pure
//! functions of [`proto`](super) alone: what the property tests and the
//! fuzz target (`http/fuzz`, the `fuzzing` feature) drive.

use http::Method;

use crate::proto::decode::Decoder;
use crate::proto::error::{ErrorKind, ParseError};
use crate::proto::input::Input;
use crate::proto::limits::Limits;
use crate::proto::request::parse_request;

/// A request read whole: its method, target and body, and whether the
/// connection stays open after it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Read {
    pub(crate) method: Method,
    pub(crate) target: String,
    pub(crate) body: Vec<u8>,
    pub(crate) keep_alive: bool,
}

/// Reads requests from `pieces` (the bytes as they arrive) as a server
/// does, until an error, the end of the input, or a request that closes
/// the connection. A body is read whole, up to `limits.max_body_size`.
pub(crate) fn read_requests(pieces: &[&[u8]], limits: &Limits) -> (Vec<Read>, Option<ParseError>) {
    let mut pieces = pieces.iter();
    let mut input = Input::default();
    let mut done = Vec::new();
    let mut more = |input: &mut Input| match pieces.next() {
        Some(piece) => {
            let mut buf = input.take_buffer(piece.len());
            buf.extend_from_slice(piece);
            input.put_back(buf);
            true
        }
        None => false,
    };
    loop {
        let head = loop {
            match parse_request(input.bytes(), limits, &mut None) {
                Ok(Some(head)) => break head,
                Ok(None) if more(&mut input) => {}
                Ok(None) if input.is_empty() => return (done, None),
                Ok(None) => return (done, Some(ErrorKind::HeadCutShort.into())),
                Err(err) => return (done, Some(err)),
            }
        };
        input.consume(head.length);
        let mut decoder = Decoder::new(head.framing);
        let mut body = Vec::new();
        while !decoder.is_done() {
            match decoder.decode(input.bytes(), limits) {
                Ok(decoded) if decoded.used > 0 => {
                    body.extend_from_slice(&input.bytes()[decoded.data]);
                    input.consume(decoded.used);
                    if body.len() > limits.max_body_size {
                        return (done, Some(ErrorKind::BodyTooLarge.into()));
                    }
                }
                Ok(_) if more(&mut input) => {}
                Ok(_) => match decoder.finish() {
                    Ok(()) => {}
                    Err(err) => return (done, Some(err)),
                },
                Err(err) => return (done, Some(err)),
            }
        }
        let keep_alive = head.keep_alive;
        done.push(Read {
            method: head.request.method().clone(),
            target: head.request.uri().to_string(),
            body,
            keep_alive,
        });
        if !keep_alive {
            return (done, None);
        }
    }
}
