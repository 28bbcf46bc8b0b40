//! [`Decoder`]: the incremental body decoder for `Content-Length`,
//! chunked and until-close bodies.
//!
//! It works on whatever bytes have arrived, never copies, and never needs
//! more than one chunk size line (at most [`Limits::MAX_CHUNK_LINE`]) or
//! one trailer section (at most [`Limits::max_head_size`]) buffered: the
//! caller hands it its input, gets back how many bytes it used and where
//! the body data among them is, drops the used bytes and receives more
//! when it asks (`used == 0` and not done).
//!
//! The chunked grammar (RFC 9112, section 7.1) is read strictly: hex
//! digits that fit in 64 bits, extensions only after `;`, CRLF (not a bare
//! LF) after the size line and after the data. Trailers are checked by
//! httparse and dropped.

use std::ops::Range;

use crate::proto::error::{ErrorKind, ParseError};
use crate::proto::framing::Framing;
use crate::proto::limits::Limits;
use crate::proto::request::STACK_HEADERS;

/// What one [`Decoder::decode`] call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Input bytes used (framing and data).
    pub(crate) used: usize,
    /// Where the body's data is in the input (within `..used`).
    pub(crate) data: Range<usize>,
}

/// Decodes one body; see the [module documentation](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decoder {
    /// This many bytes are still to come.
    Length(u64),
    /// A chunked body, in this state.
    Chunked(Chunked),
    /// Everything until the connection closes.
    UntilClose,
    /// The whole body has been read.
    Done,
}

/// Where a chunked body's decoder is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// At a chunk size line.
    Size,
    /// In a chunk's data, with this many bytes to come.
    Data(u64),
    /// After a chunk's data, at its CRLF.
    DataEnd,
    /// After the last chunk, at the trailer section.
    Trailers,
}

impl Decoder {
    /// A decoder for a body framed as `framing`.
    pub(crate) const fn new(framing: Framing) -> Decoder {
        match framing {
            Framing::Length(0) => Decoder::Done,
            Framing::Length(n) => Decoder::Length(n),
            Framing::Chunked => Decoder::Chunked(Chunked::Size),
            Framing::UntilClose => Decoder::UntilClose,
        }
    }

    /// Whether the whole body has been read.
    pub(crate) const fn is_done(&self) -> bool {
        matches!(self, Decoder::Done)
    }

    /// The bytes of body data still to come, if known.
    pub(crate) const fn remaining(&self) -> Option<u64> {
        match self {
            Decoder::Length(n) => Some(*n),
            Decoder::Done => Some(0),
            _ => None,
        }
    }

    /// Decodes the start of `input`: uses what it can and says where the
    /// body data is. Stops after one chunk's data, so call it again while
    /// it uses bytes; `used == 0` means it needs more input (or is done).
    pub(crate) fn decode(&mut self, input: &[u8], limits: &Limits) -> Result<Decoded, ParseError> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match self {
                Decoder::Done => {
                    return Ok(Decoded {
                        used,
                        data: used..used,
                    });
                }
                Decoder::UntilClose => {
                    return Ok(Decoded {
                        used: input.len(),
                        data: used..input.len(),
                    });
                }
                Decoder::Length(remaining) => {
                    let n = take(remaining, rest.len());
                    if *remaining == 0 {
                        *self = Decoder::Done;
                    }
                    return Ok(Decoded {
                        used: used + n,
                        data: used..used + n,
                    });
                }
                Decoder::Chunked(Chunked::Data(remaining)) => {
                    let n = take(remaining, rest.len());
                    if *remaining == 0 {
                        *self = Decoder::Chunked(Chunked::DataEnd);
                    }
                    return Ok(Decoded {
                        used: used + n,
                        data: used..used + n,
                    });
                }
                Decoder::Chunked(Chunked::Size) => match chunk_size(rest)? {
                    None => {
                        return Ok(Decoded {
                            used,
                            data: used..used,
                        });
                    }
                    Some((n, 0)) => {
                        used += n;
                        *self = Decoder::Chunked(Chunked::Trailers);
                    }
                    Some((n, size)) => {
                        used += n;
                        *self = Decoder::Chunked(Chunked::Data(size));
                    }
                },
                Decoder::Chunked(Chunked::DataEnd) => match rest {
                    [b'\r', b'\n', ..] => {
                        used += 2;
                        *self = Decoder::Chunked(Chunked::Size);
                    }
                    [] | [b'\r'] => {
                        return Ok(Decoded {
                            used,
                            data: used..used,
                        });
                    }
                    _ => return Err(ErrorKind::InvalidChunk.into()),
                },
                Decoder::Chunked(Chunked::Trailers) => match trailers(rest, limits)? {
                    None => {
                        return Ok(Decoded {
                            used,
                            data: used..used,
                        });
                    }
                    Some(n) => {
                        used += n;
                        *self = Decoder::Done;
                    }
                },
            }
        }
    }

    /// The peer closed the connection: fine if the body was complete (or
    /// runs until the close), an error otherwise.
    pub(crate) fn finish(&mut self) -> Result<(), ParseError> {
        match self {
            Decoder::Done => Ok(()),
            Decoder::UntilClose => {
                *self = Decoder::Done;
                Ok(())
            }
            _ => Err(ErrorKind::BodyCutShort.into()),
        }
    }
}

/// Takes up to `available` of `remaining` bytes; returns how many.
fn take(remaining: &mut u64, available: usize) -> usize {
    let n = usize::try_from(*remaining).map_or(available, |r| r.min(available));
    *remaining -= n as u64;
    n
}

/// Reads a chunk size line: `Some((line length, size))`, `None` if it is not
/// complete yet.
fn chunk_size(input: &[u8]) -> Result<Option<(usize, u64)>, ParseError> {
    let mut size: u64 = 0;
    for (i, &b) in input.iter().enumerate() {
        if i >= Limits::MAX_CHUNK_LINE {
            return Err(ErrorKind::InvalidChunkSize.into());
        }
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            b'\r' | b';' | b' ' | b'\t' if i > 0 => {
                return extension(&input[i..], i).map(|line| line.map(|n| (n, size)));
            }
            _ => return Err(ErrorKind::InvalidChunkSize.into()),
        };
        size = size
            .checked_mul(16)
            .and_then(|size| size.checked_add(u64::from(digit)))
            .ok_or(ErrorKind::InvalidChunkSize)?;
    }
    Ok(None)
}

/// Reads the rest of a chunk size line after the size, which took `start`
/// bytes: `BWS ; ext` parts, then CRLF. Returns the line's length.
fn extension(input: &[u8], start: usize) -> Result<Option<usize>, ParseError> {
    // Whitespace is allowed only before a `;` (BWS): `5 \r\n` is refused.
    let mut in_extension = false;
    let mut bare_whitespace = false;
    for (i, &b) in input.iter().enumerate() {
        if start + i >= Limits::MAX_CHUNK_LINE {
            return Err(ErrorKind::InvalidChunkSize.into());
        }
        match b {
            b'\r' if bare_whitespace => return Err(ErrorKind::InvalidChunkSize.into()),
            b'\r' => {
                return match input.get(i + 1) {
                    None => Ok(None),
                    Some(b'\n') => Ok(Some(start + i + 2)),
                    Some(_) => Err(ErrorKind::InvalidChunkSize.into()),
                };
            }
            b';' => {
                in_extension = true;
                bare_whitespace = false;
            }
            b' ' | b'\t' if !in_extension => bare_whitespace = true,
            b' ' | b'\t' => {}
            // Tokens, `=`, quoted strings: visible bytes and obs-text.
            b'!'..=b'~' | 0x80..=0xff if in_extension => {}
            _ => return Err(ErrorKind::InvalidChunkSize.into()),
        }
    }
    Ok(None)
}

/// Reads the trailer section after the last chunk: its length, `None` if
/// it is not complete yet.
fn trailers(input: &[u8], limits: &Limits) -> Result<Option<usize>, ParseError> {
    match input {
        [b'\r', b'\n', ..] => return Ok(Some(2)),
        [] | [b'\r'] => return Ok(None),
        _ => {}
    }
    let mut headers = [httparse::EMPTY_HEADER; STACK_HEADERS];
    let max = limits.max_headers.min(STACK_HEADERS);
    match httparse::parse_headers(input, &mut headers[..max]) {
        Ok(httparse::Status::Complete((n, _))) if n <= limits.max_head_size => Ok(Some(n)),
        Ok(httparse::Status::Complete(_)) => Err(ErrorKind::TrailersTooLarge.into()),
        Ok(httparse::Status::Partial) if input.len() > limits.max_head_size => {
            Err(ErrorKind::TrailersTooLarge.into())
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(ErrorKind::TrailersTooLarge.into()),
        Err(_) => Err(ErrorKind::InvalidTrailer.into()),
    }
}
