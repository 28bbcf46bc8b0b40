//! Property tests of the codec: frames round-trip, and random, truncated
//! or oversized input is an error or a request for more bytes, never a
//! panic.

use proptest::prelude::*;

use super::*;

const LIMIT: usize = 64 * 1024;

/// Owned data for a `Frame`, which borrows.
#[derive(Debug, Clone)]
enum Owned {
    Hello(String, String, u64, u16),
    Message(String, String, Vec<u8>),
    Request(u64, String, String, String, Vec<u8>),
    Response(u64, Result<Vec<u8>, u8>),
    Register(String, String, Option<String>),
    Unregister(String),
    Swim(Vec<u8>),
    Watch(u64, String),
    Stopped(u64),
    Credit(u64),
    Accept,
}

const FAILURES: [RpcFailure; 5] = [
    RpcFailure::NotFound,
    RpcFailure::WrongType,
    RpcFailure::Stopped,
    RpcFailure::NoResponse,
    RpcFailure::Malformed,
];

impl Owned {
    fn frame(&self) -> Frame<'_> {
        match self {
            Owned::Hello(cluster, node, incarnation, port) => Frame::Hello(Hello {
                version: PROTOCOL_VERSION,
                cluster,
                node,
                incarnation: *incarnation,
                listen: SocketAddr::from(([127, 0, 0, 1], *port)),
            }),
            Owned::Message(target, message_type, payload) => Frame::Message {
                target,
                message_type,
                payload,
            },
            Owned::Request(id, target, message_type, response_type, payload) => Frame::Request {
                id: *id,
                target,
                message_type,
                response_type,
                payload,
            },
            Owned::Response(id, result) => Frame::Response {
                id: *id,
                result: result
                    .as_deref()
                    .map_err(|&n| FAILURES[usize::from(n) % FAILURES.len()]),
            },
            Owned::Register(name, message_type, response_type) => Frame::Register(Entry {
                name,
                message_type,
                response_type: response_type.as_deref(),
            }),
            Owned::Unregister(name) => Frame::Unregister { name },
            Owned::Swim(data) => Frame::Swim(data),
            Owned::Watch(watch, name) => Frame::Watch {
                watch: *watch,
                name,
            },
            Owned::Stopped(watch) => Frame::Stopped { watch: *watch },
            Owned::Credit(bytes) => Frame::Credit { bytes: *bytes },
            Owned::Accept => Frame::Accept,
        }
    }
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..256)
}

fn owned() -> impl Strategy<Value = Owned> {
    prop_oneof![
        (".{0,40}", ".{0,40}", any::<u64>(), any::<u16>())
            .prop_map(|(c, n, i, p)| Owned::Hello(c, n, i, p)),
        (".{0,40}", ".{0,40}", bytes()).prop_map(|(t, m, p)| Owned::Message(t, m, p)),
        (any::<u64>(), ".{0,20}", ".{0,20}", ".{0,20}", bytes())
            .prop_map(|(i, t, m, r, p)| Owned::Request(i, t, m, r, p)),
        (
            any::<u64>(),
            prop_oneof![bytes().prop_map(Ok), any::<u8>().prop_map(Err)]
        )
            .prop_map(|(i, r)| Owned::Response(i, r)),
        (".{0,20}", ".{0,20}", proptest::option::of(".{0,20}"))
            .prop_map(|(n, m, r)| Owned::Register(n, m, r)),
        ".{0,40}".prop_map(Owned::Unregister),
        bytes().prop_map(Owned::Swim),
        (any::<u64>(), ".{0,40}").prop_map(|(w, n)| Owned::Watch(w, n)),
        any::<u64>().prop_map(Owned::Stopped),
        any::<u64>().prop_map(Owned::Credit),
        Just(Owned::Accept),
    ]
}

proptest! {
    #[test]
    fn frames_round_trip(frames in proptest::collection::vec(owned(), 1..8)) {
        let mut stream = Vec::new();
        for frame in &frames {
            encode_into(&frame.frame(), &mut stream, LIMIT).unwrap();
        }
        let mut rest = &stream[..];
        for frame in &frames {
            let (decoded, used) = decode(rest, LIMIT).unwrap().unwrap();
            prop_assert_eq!(decoded, frame.frame());
            rest = &rest[used..];
        }
        prop_assert!(rest.is_empty());
    }

    #[test]
    fn truncated_frames_ask_for_more(frame in owned(), cut in any::<prop::sample::Index>()) {
        let encoded = encode(&frame.frame(), LIMIT).unwrap();
        let cut = cut.index(encoded.len());
        prop_assert!(matches!(decode(&encoded[..cut], LIMIT), Ok(None)));
    }

    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Any result but a panic; and a frame found uses no more than the input.
        if let Ok(Some((_, used))) = decode(&input, LIMIT) {
            prop_assert!(used <= input.len());
        }
    }

    #[test]
    fn random_bodies_are_errors_or_frames(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut input = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        input.extend_from_slice(&body);
        match decode(&input, LIMIT) {
            Ok(Some((_, used))) => prop_assert_eq!(used, input.len()),
            Ok(None) => prop_assert!(false, "a whole frame asked for more bytes"),
            Err(FrameError::Malformed(_)) => {}
            Err(err) => prop_assert!(false, "unexpected error {err}"),
        }
    }

    #[test]
    fn corrupted_frames_never_panic(frame in owned(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut encoded = encode(&frame.frame(), LIMIT).unwrap();
        let at = at.index(encoded.len());
        encoded[at] = byte;
        let _ = decode(&encoded, LIMIT);
    }
}

#[test]
fn oversized_frames_are_refused_before_their_bytes_arrive() {
    let prefix = u32::try_from(LIMIT + 1).unwrap().to_be_bytes();
    match decode(&prefix, LIMIT) {
        Err(FrameError::TooLarge { length, limit }) => {
            assert_eq!((length, limit), (LIMIT + 1, LIMIT));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn encoding_over_the_limit_fails_and_leaves_the_buffer() {
    let payload = vec![7; 100];
    let frame = Frame::Swim(&payload);
    let mut out = vec![1, 2, 3];
    assert!(matches!(
        encode_into(&frame, &mut out, 50),
        Err(FrameError::TooLarge { .. })
    ));
    assert_eq!(out, [1, 2, 3]);
}

#[test]
fn trailing_bytes_in_a_frame_are_malformed() {
    let mut encoded = encode(&Frame::Stopped { watch: 1 }, LIMIT).unwrap();
    encoded.push(0);
    let length = u32::try_from(encoded.len() - HEADER).unwrap();
    encoded[..HEADER].copy_from_slice(&length.to_be_bytes());
    assert!(matches!(
        decode(&encoded, LIMIT),
        Err(FrameError::Malformed(_))
    ));
}
