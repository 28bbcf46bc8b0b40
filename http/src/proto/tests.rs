//! The wire format on its own: a conformance table (raw request bytes to
//! the status a server answers and whether it closes the connection), and
//! property tests that split input at random points and feed random bytes.

use bytes::Bytes;
use http::{Method, StatusCode};
use proptest::prelude::*;

use crate::proto::drive::read_requests;
use crate::proto::encode::{self, BodyEncoding, Exchange};
use crate::proto::error::ErrorKind;
use crate::proto::framing::Framing;
use crate::proto::input::Input;
use crate::proto::limits::Limits;
use crate::proto::response::parse_response;

#[path = "../../tests/util/table.rs"]
mod table;

/// What a server answers to `raw` (a single request, all at once): the
/// status (200 for a good request) and whether it closes the connection.
fn answer(raw: &[u8]) -> (StatusCode, bool) {
    let limits = Limits {
        max_body_size: table::MAX_BODY_SIZE,
        ..Limits::default()
    };
    match read_requests(&[raw], &limits) {
        (_, Some(err)) => (err.status(), true),
        (reads, None) => match reads.as_slice() {
            [read] => (StatusCode::OK, !read.keep_alive),
            _ => panic!(
                "expected one request in {:?}, got {reads:?}",
                String::from_utf8_lossy(raw)
            ),
        },
    }
}

/// The conformance table: every framing and limit rule, with the status it
/// gets and whether the connection closes.
#[test]
fn conformance_table() {
    let mut failures = Vec::new();
    for (name, raw, status, close) in table::rows() {
        let got = answer(&raw);
        if got != (StatusCode::from_u16(status).unwrap(), close) {
            failures.push(format!(
                "{name}: expected {status} (close: {close}), got {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Cut-short bodies are errors, not short requests.
#[test]
fn cut_short_is_an_error() {
    let limits = Limits::default();
    let (reads, err) = read_requests(
        &[b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello"],
        &limits,
    );
    assert!(reads.is_empty());
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::BodyCutShort));
    assert!(err.unwrap().is_cut_short());
}

/// Pipelined requests come out in order, with their bodies.
#[test]
fn pipelined_requests() {
    let raw = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n\
        POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc\
        POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n\
        GET /d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let (reads, err) = read_requests(&[raw], &Limits::default());
    assert_eq!(err, None);
    let got: Vec<_> = reads
        .iter()
        .map(|r| (r.target.as_str(), r.body.as_slice(), r.keep_alive))
        .collect();
    assert_eq!(
        got,
        [
            ("/a", &b""[..], true),
            ("/b", b"abc", true),
            ("/c", b"def", true),
            ("/d", b"", false)
        ]
    );
}

/// A pipeline of good requests with bodies in every framing, for the
/// property tests.
fn pipeline() -> Vec<u8> {
    let mut raw = Vec::new();
    raw.extend_from_slice(b"GET /one HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n");
    raw.extend_from_slice(
        b"POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
    );
    raw.extend_from_slice(b"PUT /three HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    raw.extend_from_slice(b"3;e=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n");
    raw.extend_from_slice(b"\r\nGET /four?q=1 HTTP/1.0\r\n\r\n");
    raw
}

/// Splits `raw` at `cuts` (taken modulo its length, sorted).
fn split<'a>(raw: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (raw.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&raw[start..cut]);
        start = cut;
    }
    pieces.push(&raw[start..]);
    pieces
}

/// A body of `data` chunked in pieces of the given sizes (0 sizes skipped).
fn chunked(data: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = (sizes.next().copied().unwrap_or(1).max(1)).min(rest.len());
        encode::chunk_head(&mut out, n);
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(encode::CHUNK_END);
        rest = &rest[n..];
    }
    out.extend_from_slice(encode::LAST_CHUNK);
    out
}

proptest! {
    /// However the bytes arrive, the same requests come out.
    #[test]
    fn random_splits_read_the_same(cuts in prop::collection::vec(any::<usize>(), 0..40)) {
        let raw = pipeline();
        let whole = read_requests(&[&raw], &Limits::default());
        let pieces = split(&raw, &cuts);
        let split = read_requests(&pieces, &Limits::default());
        prop_assert_eq!(whole.1, None);
        prop_assert_eq!(whole.0.len(), 4);
        prop_assert_eq!(split, whole);
    }

    /// Random bytes, alone or after a good head, never panic: they are a
    /// request, an error, or a wait for more.
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        let limits = Limits { max_head_size: 256, max_request_line: 64, max_headers: 4, max_body_size: 128 };
        let _ = read_requests(&split(&bytes, &cuts), &limits);
        for prefix in [&b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"[..], b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n"] {
            let mut raw = prefix.to_vec();
            raw.extend_from_slice(&bytes);
            let _ = read_requests(&split(&raw, &cuts), &limits);
        }
        let _ = parse_response(&Bytes::from(bytes), &limits, false);
    }

    /// Random mutations of a good request never panic either (they stay
    /// closer to the grammar than random bytes do).
    #[test]
    fn mutated_requests_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut raw = pipeline();
        for (at, byte) in edits {
            let at = at % raw.len();
            raw[at] = byte;
        }
        let _ = read_requests(&[&raw], &Limits::default());
    }

    /// Any body chunked any way and split any way decodes to itself.
    #[test]
    fn chunked_round_trip(
        data in prop::collection::vec(any::<u8>(), 0..2000),
        sizes in prop::collection::vec(1_usize..700, 1..10),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut raw = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        raw.extend_from_slice(&chunked(&data, &sizes));
        let limits = Limits { max_body_size: 4096, ..Limits::default() };
        let (reads, err) = read_requests(&split(&raw, &cuts), &limits);
        prop_assert_eq!(err, None);
        prop_assert_eq!(reads.len(), 1);
        prop_assert_eq!(&reads[0].body, &data);
    }
}

/// The request line limit at its boundary, for complete heads (whose
/// line length comes from the parsed parts) and partial ones (scanned),
/// after empty lines too.
#[test]
fn the_request_line_limit_is_exact() {
    let limits = Limits {
        max_request_line: 32,
        ..Limits::default()
    };
    for (prefix, complete) in [("", true), ("", false), ("\r\n\r\n", true)] {
        for (length, allowed) in [(32, true), (33, false)] {
            // "GET /aaa HTTP/1.1": 14 bytes besides the path's letters.
            let line = format!("GET /{} HTTP/1.1", "a".repeat(length - 14));
            assert_eq!(line.len(), length);
            let rest = if complete {
                "\r\nHost: a\r\n\r\n"
            } else {
                "\r\nHost"
            };
            let raw = Bytes::from(format!("{prefix}{line}{rest}"));
            let got = crate::proto::request::parse_request(&raw, &limits, &mut None);
            match got {
                Ok(Some(_)) => assert!(allowed && complete, "{raw:?}"),
                Ok(None) => assert!(allowed && !complete, "{raw:?}"),
                Err(err) => {
                    assert!(!allowed, "{raw:?}: {err}");
                    assert_eq!(err.kind(), ErrorKind::RequestLineTooLong);
                }
            }
        }
    }
}

#[test]
fn chunk_heads_are_hex() {
    for (size, text) in [
        (1, "1\r\n"),
        (15, "f\r\n"),
        (16, "10\r\n"),
        (4096, "1000\r\n"),
    ] {
        let mut out = Vec::new();
        encode::chunk_head(&mut out, size);
        assert_eq!(out, text.as_bytes());
    }
}

#[test]
fn response_heads_frame_the_body() {
    let headers = {
        let mut h = http::HeaderMap::new();
        h.insert("content-length", "99".parse().unwrap()); // ignored
        h.insert("x-a", "b".parse().unwrap());
        h
    };
    let normal = Exchange {
        head: false,
        http10: false,
    };
    let cases = [
        (
            StatusCode::OK,
            Some(5),
            normal,
            false,
            BodyEncoding::Length(5),
            "content-length: 5\r\n",
            false,
        ),
        (
            StatusCode::OK,
            None,
            normal,
            false,
            BodyEncoding::Chunked,
            "transfer-encoding: chunked\r\n",
            false,
        ),
        (
            StatusCode::OK,
            None,
            Exchange {
                head: false,
                http10: true,
            },
            false,
            BodyEncoding::UntilClose,
            "connection: close\r\n",
            true,
        ),
        (
            StatusCode::OK,
            Some(5),
            Exchange {
                head: true,
                http10: false,
            },
            false,
            BodyEncoding::None,
            "content-length: 5\r\n",
            false,
        ),
        (
            StatusCode::NO_CONTENT,
            Some(0),
            normal,
            false,
            BodyEncoding::None,
            "x-a: b\r\n",
            false,
        ),
        (
            StatusCode::OK,
            Some(5),
            Exchange {
                head: false,
                http10: true,
            },
            false,
            BodyEncoding::Length(5),
            "connection: keep-alive\r\n",
            false,
        ),
        (
            StatusCode::BAD_REQUEST,
            Some(0),
            normal,
            true,
            BodyEncoding::Length(0),
            "connection: close\r\n",
            true,
        ),
    ];
    for (status, length, exchange, close, encoding, line, closes) in cases {
        let mut out = Vec::new();
        let got = encode::response_head(
            &mut out,
            status,
            &headers,
            length,
            exchange,
            close,
            b"Thu, 01 Jan 2026 00:00:00 GMT",
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(got, (encoding, closes), "{text}");
        assert!(
            text.starts_with(&format!("HTTP/1.1 {} ", status.as_str())),
            "{text}"
        );
        assert!(text.contains(line), "{line:?} not in {text}");
        assert!(text.contains("\r\ndate: "), "{text}");
        assert!(!text.contains("99"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");
        if status == StatusCode::NO_CONTENT {
            assert!(!text.contains("content-length"), "{text}");
        }
    }
}

#[test]
fn response_framing() {
    let limits = Limits::default();
    let cases: [(&[u8], bool, Result<Framing, ErrorKind>, bool); 9] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            false,
            Ok(Framing::Length(5)),
            true,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            false,
            Ok(Framing::Chunked),
            true,
        ),
        (
            b"HTTP/1.1 200 OK\r\n\r\n",
            false,
            Ok(Framing::UntilClose),
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            true,
            Ok(Framing::Length(0)),
            true,
        ),
        (
            b"HTTP/1.1 204 No Content\r\n\r\n",
            false,
            Ok(Framing::Length(0)),
            true,
        ),
        (
            b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n",
            false,
            Ok(Framing::Length(1)),
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            false,
            Err(ErrorKind::ContentLengthAndTransferEncoding),
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            false,
            Err(ErrorKind::DifferingContentLengths),
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            false,
            Ok(Framing::UntilClose),
            false,
        ),
    ];
    for (raw, head, expected, keep_alive) in cases {
        let got = parse_response(&Bytes::from_static(raw), &limits, head);
        match expected {
            Ok(framing) => {
                let got = got.unwrap().unwrap();
                assert_eq!(
                    (got.framing, got.keep_alive),
                    (framing, keep_alive),
                    "{}",
                    String::from_utf8_lossy(raw)
                );
                assert_eq!(got.length, raw.len());
            }
            Err(kind) => assert_eq!(
                got.unwrap_err().kind(),
                kind,
                "{}",
                String::from_utf8_lossy(raw)
            ),
        }
    }
}

#[test]
fn request_heads_set_host_and_framing() {
    let uri: http::Uri = "http://example.com:8080/a?b".parse().unwrap();
    let mut out = Vec::new();
    let encoding = encode::request_head(
        &mut out,
        &Method::POST,
        &uri,
        &http::HeaderMap::new(),
        Some(3),
    );
    assert_eq!(encoding, BodyEncoding::Length(3));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "POST /a?b HTTP/1.1\r\nhost: example.com:8080\r\ncontent-length: 3\r\n\r\n"
    );
    let mut out = Vec::new();
    let encoding = encode::request_head(
        &mut out,
        &Method::GET,
        &uri,
        &http::HeaderMap::new(),
        Some(0),
    );
    assert_eq!(encoding, BodyEncoding::None);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "GET /a?b HTTP/1.1\r\nhost: example.com:8080\r\n\r\n"
    );
}

#[test]
fn the_input_buffer_is_reused_when_no_slice_is_alive() {
    let mut input = Input::default();
    let mut buf = input.take_buffer(64);
    buf.extend_from_slice(b"headbody");
    let address = buf.as_ptr();
    input.put_back(buf);
    let head = input.bytes().slice(..4);
    input.consume(4);
    drop(head);
    // Room that fits the buffer's capacity (64): no reallocation.
    let buf = input.take_buffer(16);
    assert_eq!(buf, b"body");
    assert_eq!(buf.as_ptr(), address, "the buffer was copied");
}

#[test]
fn the_rest_of_the_input_is_copied_while_a_slice_is_alive() {
    let mut input = Input::default();
    let mut buf = input.take_buffer(64);
    buf.extend_from_slice(b"headbody");
    input.put_back(buf);
    let head = input.bytes().slice(..4);
    input.consume(4);
    let buf = input.take_buffer(64);
    assert_eq!(buf, b"body");
    assert!(buf.capacity() >= 4 + 64);
    assert_eq!(head, &b"head"[..], "the slice still holds its bytes");
}

/// `Date` is an IMF-fixdate of now, the cached text is the last one read,
/// and the per-thread cache follows the clock to the next second.
#[test]
fn the_date_is_now_and_the_cache_follows_the_clock() {
    use std::time::{Duration, SystemTime};

    use crate::proto::date::{with_cached_date, with_date};

    let first = with_date(<[u8]>::to_vec);
    let text = std::str::from_utf8(&first).unwrap();
    assert_eq!(first.len(), 29, "{text}");
    let parsed = httpdate::parse_http_date(text).unwrap();
    let now = SystemTime::now();
    let off = now.duration_since(parsed).unwrap_or_else(|e| e.duration());
    assert!(off < Duration::from_secs(2), "{text} is {off:?} from now");
    assert_eq!(with_cached_date(<[u8]>::to_vec), first);
    // Read until the second changes: the text moves forward.
    let mut last = with_date(<[u8]>::to_vec);
    let start = std::time::Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the date did not change in 3 s"
        );
        let next = with_date(<[u8]>::to_vec);
        if next != last {
            let parsed_last =
                httpdate::parse_http_date(std::str::from_utf8(&last).unwrap()).unwrap();
            let parsed_next =
                httpdate::parse_http_date(std::str::from_utf8(&next).unwrap()).unwrap();
            assert!(parsed_next > parsed_last, "the date went back");
            break;
        }
        last = next;
        std::thread::sleep(Duration::from_millis(10));
    }
}
