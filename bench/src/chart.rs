//! Charts of a run's results: an SVG bar chart per workload and metric, the
//! systems side by side, each bar the median with a whisker from the
//! fastest to the slowest run.
//!
//! Reads the JSON lines through [`results`] and draws with
//! `plotters`' SVG backend only: text is written as SVG `<text>` elements,
//! which the viewer renders, so no font files or system libraries are
//! needed. A file holding several runs' lines draws the last measurement of
//! each workload, metric and system.

use std::fs;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::results::{self, Record};

#[cfg(test)]
mod tests;

/// The size of a chart in pixels.
const SIZE: (u32, u32) = (640, 400);

/// The font of every text.
const FONT: &str = "sans-serif";

/// Renders the results in the file at `input` as charts in the folder
/// `out` (made if missing); returns the files written.
pub(crate) fn render_file(input: &Path, out: &Path) -> Result<Vec<PathBuf>, String> {
    let text = fs::read_to_string(input).map_err(|err| err.to_string())?;
    let records = results::parse(&text)?;
    if records.is_empty() {
        return Err("no result lines (JSON objects) in the file".into());
    }
    fs::create_dir_all(out).map_err(|err| format!("{}: {err}", out.display()))?;
    charts(&records)
        .into_iter()
        .map(|chart| {
            let path = out.join(chart.file_name());
            chart
                .render(&path)
                .map_err(|err| format!("{}: {err}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// The bars of one workload's metric, in the order the systems came.
#[derive(Debug)]
pub(crate) struct Chart<'a> {
    workload: &'a str,
    metric: &'a str,
    bars: Vec<&'a Record>,
}

/// The charts of `records`, in the order their workloads and metrics came.
/// A later record of a system replaces an earlier one.
pub(crate) fn charts(records: &[Record]) -> Vec<Chart<'_>> {
    let mut charts: Vec<Chart<'_>> = Vec::new();
    for record in records {
        let chart = match charts
            .iter_mut()
            .find(|c| c.workload == record.workload && c.metric == record.metric)
        {
            Some(chart) => chart,
            None => {
                charts.push(Chart {
                    workload: &record.workload,
                    metric: &record.metric,
                    bars: Vec::new(),
                });
                charts.last_mut().expect("just pushed")
            }
        };
        match chart.bars.iter_mut().find(|r| r.system == record.system) {
            Some(bar) => *bar = record,
            None => chart.bars.push(record),
        }
    }
    charts
}

impl Chart<'_> {
    /// `W6-ring_ns_per_hop.svg`: the workload and metric, with anything but
    /// letters, digits, `-` and `_` replaced.
    pub(crate) fn file_name(&self) -> String {
        let name: String = format!("{}_{}", self.workload, self.metric)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{name}.svg")
    }

    /// The title: the workload, the metric and how to read it.
    fn title(&self) -> String {
        format!("{}: {}", self.workload, self.metric.replace('_', " "))
    }

    /// What the y axis says: the metric, and which way is better.
    fn y_description(&self) -> String {
        let better = if self.metric.ends_with("per_sec") {
            "higher"
        } else {
            "lower"
        };
        format!("{} ({better} is better)", self.metric.replace('_', " "))
    }

    /// What the x axis says: the runs behind each bar.
    fn x_description(&self) -> String {
        let runs = self.bars.iter().filter_map(|r| r.runs).max();
        let whiskers = self.bars.iter().any(|r| r.min.is_some() && r.max.is_some());
        match (runs, whiskers) {
            (Some(runs), true) => format!("median of {runs} runs; whiskers: min to max"),
            (Some(runs), false) => format!("median of {runs} runs"),
            (None, _) => "median".to_owned(),
        }
    }

    /// The top of the y axis: room above the highest bar or whisker and its
    /// label.
    fn y_max(&self) -> f64 {
        let top = self
            .bars
            .iter()
            .map(|r| r.max.unwrap_or(r.value).max(r.value))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        if top > 0.0 { top * 1.15 } else { 1.0 }
    }

    /// Draws the chart into an SVG file at `path`.
    pub(crate) fn render(&self, path: &Path) -> Result<(), String> {
        let root = SVGBackend::new(path, SIZE).into_drawing_area();
        self.draw(&root).map_err(|err| err.to_string())?;
        root.present().map_err(|err| err.to_string())
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let n = self.bars.len();
        let mut chart = ChartBuilder::on(root)
            .caption(self.title(), (FONT, 24))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            // Integer ranges are inclusive: `0..n - 1` has `n` segments.
            .build_cartesian_2d((0..n.saturating_sub(1)).into_segmented(), 0.0..self.y_max())?;
        let label = |x: &SegmentValue<usize>| match x {
            SegmentValue::CenterOf(i) => self
                .bars
                .get(*i)
                .map_or_else(String::new, |r| r.system.clone()),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(BLACK.mix(0.1))
            .light_line_style(TRANSPARENT)
            .x_labels(n)
            .x_label_formatter(&label)
            .y_label_formatter(&|v: &f64| format_value(*v))
            .x_desc(self.x_description())
            .y_desc(self.y_description())
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 16))
            .draw()?;
        chart.draw_series(self.bars.iter().enumerate().map(|(i, r)| {
            let color = system_color(&r.system, i);
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), finite(r.value)),
                ],
                color.filled(),
            );
            bar.set_margin(0, 0, 14, 14);
            bar
        }))?;
        // Whiskers: a line from min to max with a cap at each end, the caps
        // drawn in pixels around their point.
        let whiskers = self.bars.iter().enumerate().filter_map(|(i, r)| {
            let (min, max) = (finite(r.min?), finite(r.max?));
            Some((i, min, max))
        });
        let style = BLACK.stroke_width(1);
        for (i, min, max) in whiskers {
            let x = || SegmentValue::CenterOf(i);
            chart.draw_series([PathElement::new(vec![(x(), min), (x(), max)], style)])?;
            chart.draw_series([min, max].map(|y| {
                EmptyElement::at((x(), y)) + PathElement::new(vec![(-7, 0), (7, 0)], style)
            }))?;
        }
        let value_style = TextStyle::from((FONT, 15).into_font())
            .pos(Pos::new(HPos::Center, VPos::Bottom))
            .color(&BLACK);
        chart.draw_series(self.bars.iter().enumerate().map(|(i, r)| {
            let top = r.max.unwrap_or(r.value).max(r.value);
            // 4 pixels above the bar or its whisker.
            EmptyElement::at((SegmentValue::CenterOf(i), finite(top)))
                + Text::new(format_value(r.value), (0, -4), value_style.clone())
        }))?;
        Ok(())
    }
}

/// `v`, or 0 if it is not a number (a measurement without samples).
fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// A value as a label: `12.3`, `12`, `1,304` or `10.6 M`.
pub(crate) fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_owned();
    }
    if v.abs() >= 1e6 {
        return format!("{:.1} M", v / 1e6);
    }
    if v.abs() < 1_000.0 {
        return if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        };
    }
    let digits = format!("{:.0}", v.abs());
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if v < 0.0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// The colour of `system`'s bars: the same in every chart for the systems
/// the suite knows, a palette's otherwise.
fn system_color(system: &str, index: usize) -> RGBColor {
    match system {
        "kiln" => RGBColor(0xd9, 0x5f, 0x0e),
        // A lighter shade of kiln's: the same runtime on its epoll driver.
        "kiln-poll" => RGBColor(0xfd, 0xae, 0x6b),
        "tokio" => RGBColor(0x31, 0x82, 0xbd),
        "actix" => RGBColor(0x31, 0xa3, 0x54),
        "kameo" => RGBColor(0x75, 0x6b, 0xb1),
        "ractor" => RGBColor(0x63, 0x63, 0x63),
        _ => {
            let (r, g, b) = Palette99::pick(index).to_rgba().rgb();
            RGBColor(r, g, b)
        }
    }
}
