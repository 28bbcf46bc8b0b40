//! Tests of reading the JSON lines back.

use super::{Record, parse, parse_line};

const LINE: &str = r#"{"workload":"W6-ring","system":"kiln","metric":"ns_per_hop","value":80.1,"runs":3,"min":79.0,"max":85.2}"#;

#[test]
fn a_measurement_line_is_read() {
    assert_eq!(
        parse_line(LINE).unwrap(),
        Record {
            workload: "W6-ring".into(),
            system: "kiln".into(),
            metric: "ns_per_hop".into(),
            value: 80.1,
            runs: Some(3),
            min: Some(79.0),
            max: Some(85.2),
        }
    );
}

#[test]
fn what_the_benchmark_prints_reads_back() {
    let measurement =
        crate::measure::Measurement::new("W6-skynet", "tokio", "ms_total", vec![12.0, 10.5, 11.0]);
    let record = parse_line(&measurement.json()).unwrap();
    assert_eq!(record.workload, "W6-skynet");
    assert_eq!(record.metric, "ms_total");
    assert_eq!(record.value, 11.0);
    assert_eq!((record.min, record.max), (Some(10.5), Some(12.0)));
}

#[test]
fn order_spacing_escapes_and_missing_extremes_are_fine() {
    let record =
        parse_line(r#" { "value" : 1e3 , "metric":"a\"b\\c", "system":"x/y", "workload":"W1a" } "#)
            .unwrap();
    assert_eq!(record.value, 1000.0);
    assert_eq!(record.metric, r#"a"b\c"#);
    assert_eq!(record.system, "x/y");
    assert_eq!((record.runs, record.min, record.max), (None, None, None));
}

#[test]
fn a_measurement_without_samples_reads_back() {
    let measurement = crate::measure::Measurement::new("W1a", "kiln", "m", Vec::new());
    let record = parse_line(&measurement.json()).unwrap();
    assert!(record.value.is_nan());
    assert_eq!((record.runs, record.min, record.max), (Some(0), None, None));
}

#[test]
fn other_lines_are_skipped() {
    let output = format!(
        "{LINE}\n\nload         metric    system   median\nW6-ring      ns_per_hop kiln     80.1\n{LINE}\n"
    );
    assert_eq!(parse(&output).unwrap().len(), 2);
}

#[test]
fn malformed_lines_are_errors_naming_the_line() {
    for (line, error) in [
        (
            r#"{"workload":"W1a","system":"kiln","metric":"m"}"#,
            "missing field `value`",
        ),
        (
            r#"{"workload":"W1a","system":"kiln","value":1}"#,
            "missing field `metric`",
        ),
        (
            r#"{"workload":"W1a","system":"kiln","metric":"m","value":"1"}"#,
            "invalid type: string",
        ),
        (
            r#"{"workload":1,"system":"kiln","metric":"m","value":1}"#,
            "invalid type: integer",
        ),
        (
            r#"{"workload":"W1a","system":"kiln","metric":"m","value":1,"value":2}"#,
            "duplicate field",
        ),
        (
            r#"{"workload":"W1a","system":"kiln","metric":"m","value":1,"colour":2}"#,
            "unknown field",
        ),
        (
            r#"{"workload":"W1a","system":"kiln","metric":"m","value":1"#,
            "EOF",
        ),
        (
            r#"{"workload":"W1a","system":"kiln","metric":"m","value":1} x"#,
            "trailing characters",
        ),
        (
            r#"{"workload":"W1a","system":"kiln","metric":"m","value":1,"runs":2.5}"#,
            "invalid type: floating point",
        ),
    ] {
        let err = parse(&format!("table\n{line}")).unwrap_err();
        assert!(err.starts_with("line 2: "), "{line}: {err}");
        assert!(err.contains(error), "{line}: {err}");
    }
}
