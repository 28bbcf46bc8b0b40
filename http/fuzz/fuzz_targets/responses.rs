//! Fuzzes the client's side: response heads and their framing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kiln_http::fuzzing::parse_response_head(data, false);
    kiln_http::fuzzing::parse_response_head(data, true);
});
