//! Reading results back: the JSON lines a run prints (see
//! [`Measurement::json`](crate::measure::Measurement::json)), for the
//! charts.
//!
//! A line is one JSON object:
//!
//! ```text
//! {"workload":"W6-ring","system":"kiln","metric":"ns_per_hop","value":80.1,"runs":3,"min":79.0,"max":85.2}
//! ```
//!
//! Lines that do not start with `{` (the table, progress, blank lines) are
//! skipped, so a run's whole standard output can be read; a line that does
//! but is not such an object is an error that names the line. `serde_json`
//! reads them; a measurement without samples has `null` figures.

use serde::Deserialize;

#[cfg(test)]
mod tests;

/// One measurement read back: the median of a metric of one workload and
/// system, with the minimum and maximum when the line has them.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Record {
    pub(crate) workload: String,
    pub(crate) system: String,
    pub(crate) metric: String,
    /// The median; `NaN` if the line has `null` (no samples).
    #[serde(deserialize_with = "number_or_nan")]
    pub(crate) value: f64,
    #[serde(default)]
    pub(crate) runs: Option<u64>,
    #[serde(default)]
    pub(crate) min: Option<f64>,
    #[serde(default)]
    pub(crate) max: Option<f64>,
}

/// A number, or `NaN` for `null`.
fn number_or_nan<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// Reads the records in `text`, skipping the lines that are not JSON
/// objects.
pub(crate) fn parse(text: &str) -> Result<Vec<Record>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with('{'))
        .map(|(index, line)| parse_line(line).map_err(|err| format!("line {}: {err}", index + 1)))
        .collect()
}

/// Reads one JSON line.
pub(crate) fn parse_line(line: &str) -> Result<Record, String> {
    serde_json::from_str(line).map_err(|err| err.to_string())
}
