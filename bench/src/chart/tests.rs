//! Tests of the charts: grouping, names, labels, and an SVG file drawn.

use std::fs;
use std::path::PathBuf;

use super::{charts, format_value, render_file};
use crate::results::parse;

const RUN: &str = r#"{"workload":"W6-ring","system":"kiln","metric":"ns_per_hop","value":80.1,"runs":3,"min":79.0,"max":85.2}
{"workload":"W6-ring","system":"tokio","metric":"ns_per_hop","value":120.5,"runs":3,"min":110.0,"max":130.0}
{"workload":"W2","system":"kiln","metric":"ns_per_call_p50","value":215.0,"runs":3,"min":210.0,"max":220.0}
{"workload":"W2","system":"kiln","metric":"ns_per_call_p99","value":249.0,"runs":3,"min":240.0,"max":260.0}

load         metric                    system           median    vs kiln
W6-ring      ns_per_hop                kiln               80.1      1.00x
"#;

/// A fresh folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-bench-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The contents of the `<text>` elements of `svg`, trimmed.
fn texts(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| {
            let (_, rest) = element.split_once('>')?;
            let (text, _) = rest.split_once("</text>")?;
            Some(text.trim())
        })
        .collect()
}

#[test]
fn one_chart_per_workload_and_metric() {
    let records = parse(RUN).unwrap();
    let charts = charts(&records);
    let names: Vec<_> = charts.iter().map(|c| c.file_name()).collect();
    assert_eq!(
        names,
        [
            "W6-ring_ns_per_hop.svg",
            "W2_ns_per_call_p50.svg",
            "W2_ns_per_call_p99.svg"
        ]
    );
    assert_eq!(charts[0].bars.len(), 2);
}

#[test]
fn a_later_run_replaces_a_system_s_bar() {
    let later = RUN.replace("80.1", "90.5");
    let records = parse(&format!("{RUN}{later}")).unwrap();
    let charts = charts(&records);
    assert_eq!(charts.len(), 3);
    assert_eq!(charts[0].bars.len(), 2);
    assert_eq!(charts[0].bars[0].value, 90.5);
}

#[test]
fn odd_characters_leave_file_names() {
    let records =
        parse(r#"{"workload":"W7 64B/16c","system":"kiln","metric":"µs","value":1}"#).unwrap();
    assert_eq!(charts(&records)[0].file_name(), "W7_64B_16c__s.svg");
}

#[test]
fn values_are_labelled_readably() {
    assert_eq!(format_value(80.14), "80.1");
    assert_eq!(format_value(300.0), "300");
    assert_eq!(format_value(1_304.3), "1,304");
    assert_eq!(format_value(999_999.0), "999,999");
    assert_eq!(format_value(10_600_000.0), "10.6 M");
    assert_eq!(format_value(f64::NAN), "-");
}

#[test]
fn charts_are_svg_files_with_their_text() {
    let dir = scratch("charts");
    let input = dir.join("results.txt");
    fs::write(&input, RUN).unwrap();
    let out = dir.join("charts");
    let written = render_file(&input, &out).unwrap();
    assert_eq!(written.len(), 3);
    let svg = fs::read_to_string(out.join("W6-ring_ns_per_hop.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(100)]);
    let texts = texts(&svg);
    for text in [
        "W6-ring: ns per hop",
        "kiln",
        "tokio",
        "80.1",
        "120.5",
        "ns per hop (lower is better)",
        "median of 3 runs; whiskers: min to max",
    ] {
        assert!(texts.contains(&text), "no {text:?} in {texts:?}");
    }
    assert!(svg.matches("<rect").count() >= 3, "no bars");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_without_results_is_an_error() {
    let dir = scratch("empty");
    let input = dir.join("results.txt");
    fs::write(&input, "no results here\n").unwrap();
    let err = render_file(&input, &dir.join("charts")).unwrap_err();
    assert!(err.contains("no result lines"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_single_bar_without_whiskers_draws() {
    let dir = scratch("single");
    let input = dir.join("results.txt");
    fs::write(
        &input,
        r#"{"workload":"W1a","system":"kiln","metric":"ns_per_round_trip","value":0}"#,
    )
    .unwrap();
    let written = render_file(&input, &dir).unwrap();
    let svg = fs::read_to_string(&written[0]).unwrap();
    let texts = texts(&svg);
    assert!(texts.contains(&"kiln"), "{texts:?}");
    assert!(texts.contains(&"median"), "{texts:?}");
    fs::remove_dir_all(&dir).unwrap();
}
