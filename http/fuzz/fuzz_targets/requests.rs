//! Fuzzes the server's side: request heads, framing and body decoding,
//! with the input split into reads at fuzzer-chosen offsets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<usize>, &[u8])| {
    let (splits, data) = input;
    kiln_http::fuzzing::read_requests(data, &splits);
});
