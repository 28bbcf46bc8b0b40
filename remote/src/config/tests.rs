//! `Config::check`: each bad setting is refused with what to change.

use std::time::Duration;

use super::Config;
use crate::tls::Security;

fn config() -> Config {
    Config::new(
        "test",
        "node-1",
        "127.0.0.1:0".parse().unwrap(),
        Security::InsecurePlaintext,
    )
}

#[test]
fn the_defaults_pass() {
    assert_eq!(config().check(), Ok(()));
}

#[test]
fn bad_settings_are_refused_with_what_to_change() {
    let cases = [
        (
            Config::new(
                "",
                "n",
                "127.0.0.1:0".parse().unwrap(),
                Security::InsecurePlaintext,
            ),
            "the cluster name must be 1 to 255 bytes long",
        ),
        (
            Config::new(
                "c",
                "a\nb",
                "127.0.0.1:0".parse().unwrap(),
                Security::InsecurePlaintext,
            ),
            "the node name 'a\\nb' has control characters",
        ),
        (
            config().with_send_queue(0),
            "the send queue must hold 1 to 65536 messages, not 0",
        ),
        (
            config().with_max_frame_size(100),
            "the frame size limit must be 1024 bytes to 4 GiB, not 100",
        ),
        (
            config().with_stall_timeout(Duration::ZERO),
            "the stall timeout must be above zero",
        ),
        (
            config().with_connect_timeout(Duration::ZERO),
            "the connect timeout must be above zero",
        ),
        (
            config().with_suspect_timeout(Duration::ZERO),
            "the suspect timeout must be above zero",
        ),
        (
            config().with_probe_timeout(Duration::from_secs(1)),
            "the probe timeout (1s) must be shorter than the probe period (1s)",
        ),
        (
            config().with_reconnect_backoff(Duration::ZERO, Duration::from_secs(1)),
            "the reconnect backoff must start above zero and not above its longest wait",
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(config.check(), Err(expected.to_owned()));
    }
}
