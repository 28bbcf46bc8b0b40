//! The conformance table: raw request bytes, the status a server answers
//! with and whether it closes the connection, for every framing rule and
//! limit of RFC 9112 kiln-http keeps. Shared by the parser's unit test
//! (`src/proto/tests.rs`) and the server's test over TCP
//! (`tests/conformance.rs`).
//!
//! Rows whose name ends in "cut short" are requests the client stops
//! sending in the middle of: the server sees the end of the stream, and
//! closes without an answer (the parser's test sees the error's status).

/// The limits the table assumes besides the defaults: bodies of at most
/// 64 bytes.
pub(crate) const MAX_BODY_SIZE: usize = 64;

/// One row: name, raw request, status, whether the connection closes.
pub(crate) type Row = (&'static str, Vec<u8>, u16, bool);

/// The rows.
pub(crate) fn rows() -> Vec<Row> {
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(9000));
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "b".repeat(17000)
    );
    let many_headers = format!("GET / HTTP/1.1\r\nHost: a\r\n{}\r\n", "X: 1\r\n".repeat(64));
    let long_chunk_line = format!(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;{}\r\nx\r\n0\r\n\r\n",
        "e".repeat(5000)
    );
    let big_trailer = format!(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: {}\r\n\r\n",
        "t".repeat(17000)
    );
    let rows: Vec<(&str, &[u8], u16, bool)> = vec![
        // Good requests and connection persistence.
        ("plain GET", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 200, false),
        ("Connection: close", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200, true),
        ("HTTP/1.0 closes", b"GET / HTTP/1.0\r\n\r\n", 200, true),
        ("HTTP/1.0 keep-alive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, false),
        ("empty lines first", b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 200, false),
        ("absolute form", b"GET http://a/x?y HTTP/1.1\r\nHost: a\r\n\r\n", 200, false),
        ("Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 200, false),
        ("identical Content-Lengths", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 200, false),
        ("repeated identical Content-Length headers", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 200, false),
        ("Content-Length with leading zeros", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello", 200, false),
        ("chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200, false),
        ("Chunked in capitals", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n", 200, false),
        ("chunk extension", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b ; c=\"d\"\r\nhello\r\n0\r\n\r\n", 200, false),
        ("trailers", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: 1\r\n\r\n", 200, false),
        ("Expect: 100-continue", b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", 200, false),
        // Malformed heads.
        ("no Host in HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", 400, true),
        ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true),
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, true),
        ("bad method byte", b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("no version", b"GET /\r\nHost: a\r\n\r\n", 400, true),
        ("space before colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, true),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, true),
        ("control byte in value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", 400, true),
        ("no colon", b"GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n", 400, true),
        ("whitespace before the first header", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, true),
        ("bare CR in a value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, true),
        ("two spaces in the request line", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("lowercase version", b"GET / http/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, true),
        ("HTTP/1.2", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, true),
        ("HTTP/x", b"GET / HTTP/x\r\nHost: a\r\n\r\n", 400, true),
        ("Expect other", b"GET / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\n\r\n", 417, true),
        // Content-Length.
        ("Content-Length and Transfer-Encoding", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true),
        ("Transfer-Encoding and Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, true),
        ("differing Content-Lengths", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, true),
        ("differing Content-Length list", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!", 400, true),
        ("Content-Length with sign", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400, true),
        ("negative Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, true),
        ("hex Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello", 400, true),
        ("Content-Length with letters", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\nhello", 400, true),
        ("empty Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, true),
        ("Content-Length with inner space", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400, true),
        ("Content-Length with a tab after", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\t\r\n\r\nhello", 400, true),
        ("Content-Length with a space after", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 \r\n\r\nhello", 400, true),
        ("overflowing Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", 400, true),
        // Transfer-Encoding.
        ("not ending in chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400, true),
        ("identity", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 400, true),
        ("chunked then gzip", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, true),
        ("gzip then chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, true),
        ("chunked twice", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400, true),
        ("two Transfer-Encoding headers", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true),
        ("Transfer-Encoding in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true),
        ("Transfer-Encoding and Content-Length in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, true),
        ("chunked and a tab", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n", 400, true),
        ("chunked and a space", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \r\n\r\n0\r\n\r\n", 400, true),
        ("space before the colon", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400, true),
        ("tab inside the list", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,\tchunked\r\n\r\n0\r\n\r\n", 400, true),
        ("empty list element", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n", 400, true),
        ("coding parameter", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", 400, true),
        ("obs-fold in Transfer-Encoding", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400, true),
        // Chunks.
        ("chunk size not hex", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, true),
        ("empty chunk size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 400, true),
        ("negative chunk size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400, true),
        ("overflowing chunk size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 400, true),
        ("chunk size 0x prefix", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400, true),
        ("space after chunk size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400, true),
        ("bare LF after chunk size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400, true),
        ("bare LF after chunk data", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", 400, true),
        ("no chunk size before an extension", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n;a=b\r\nhello\r\n0\r\n\r\n", 400, true),
        ("chunk size line too long", long_chunk_line.as_bytes(), 400, true),
        ("chunk data too long", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello!\r\n0\r\n\r\n", 400, true),
        ("control byte in extension", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x01\r\nhello\r\n0\r\n\r\n", 400, true),
        ("malformed trailer", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX T\r\n\r\n", 400, true),
        // Cut short (no answer can reach the peer: closed).
        ("body cut short", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello", 400, true),
        ("chunked body cut short", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 400, true),
        ("no last chunk: cut short", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", 400, true),
        ("head cut short", b"GET / HTTP/1.1\r\nHost: a\r\n", 400, true),
        // Limits.
        ("request line too long", long_target.as_bytes(), 414, true),
        ("head too large", big_head.as_bytes(), 431, true),
        ("too many headers", many_headers.as_bytes(), 431, true),
        ("trailer section too large", big_trailer.as_bytes(), 431, true),
        ("body too large", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65\r\n\r\n01234567890123456789012345678901234567890123456789012345678901234", 413, true),
    ];
    rows.into_iter()
        .map(|(name, raw, status, close)| (name, raw.to_vec(), status, close))
        .collect()
}
