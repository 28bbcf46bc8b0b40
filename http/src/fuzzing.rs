//! Entry points for fuzzers (the `fuzzing` feature; see `http/fuzz`):
//! the parser and the body decoders on arbitrary bytes, as the server and
//! the client meet them. Not a stable API.

use bytes::Bytes;

use crate::proto::drive;
use crate::proto::limits::Limits;
use crate::proto::response::parse_response;

/// Reads requests from `data`, split into pieces at `splits` (offsets,
/// taken modulo the length) as if they arrived in several reads, as a
/// server does: heads, framing, bodies, until an error or the end. Returns
/// how many requests were read whole. Must never panic or hang.
pub fn read_requests(data: &[u8], splits: &[usize]) -> usize {
    let mut cuts: Vec<usize> = splits.iter().map(|s| s % (data.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        pieces.push(&data[start..cut]);
        start = cut;
    }
    pieces.push(&data[start..]);
    let limits = Limits {
        max_body_size: 64 * 1024,
        ..Limits::default()
    };
    drive::read_requests(&pieces, &limits).0.len()
}

/// Parses `data` as a response head, as the client does (for a `HEAD`
/// request if `head`). Must never panic.
pub fn parse_response_head(data: &[u8], head: bool) -> bool {
    let data = Bytes::copy_from_slice(data);
    matches!(parse_response(&data, &Limits::default(), head), Ok(Some(_)))
}
