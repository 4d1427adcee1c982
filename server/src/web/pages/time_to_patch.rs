//! `/time-to-patch`: how long hosts stay exposed, from first seen exposed to fixed: median and
//! 90th percentile in days over a period, in all or per OS group, severity or host, as a table
//! and an SVG chart. Open windows of silent hosts are "unknown", never fixed.

use axum::extract::{Query, State};
use axum::response::Html;
use serde::{Deserialize, Serialize};

use crate::advisories::windows::{GroupBy, TimeToPatch, time_to_patch};
use crate::web::{WebError, WebState, render};

/// The chart in pixels: a row per bucket, its name on the left, bars scaled to the longest.
const ROW: u32 = 26;
const LABEL_W: f64 = 190.0;
const BAR_MAX: f64 = 420.0;

#[derive(Deserialize)]
pub struct TtpQuery {
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    days: Option<String>,
}

#[derive(Serialize)]
struct Bar<'a> {
    t: &'a TimeToPatch,
    median: String,
    p90: String,
    /// Bar lengths in the chart's units (0–100) and the row's y.
    median_w: String,
    p90_w: String,
    /// Where the numbers go, after the longer bar.
    label_x: String,
    y: u32,
    text_y: u32,
}

#[derive(Serialize)]
struct Choice {
    value: &'static str,
    selected: bool,
}

#[derive(Serialize)]
struct Page<'a> {
    days: u32,
    bys: Vec<Choice>,
    rows: Vec<Bar<'a>>,
    height: u32,
    max_days: String,
}

pub async fn page(State(state): State<WebState>, Query(q): Query<TtpQuery>) -> Result<Html<String>, WebError> {
    let by = q.by.unwrap_or_else(|| "severity".to_owned());
    let group_by = GroupBy::parse(&by)
        .ok_or_else(|| WebError::BadRequest(format!("by: {by:?} is not all, host, group or severity")))?;
    let days: u32 = match q.days.as_deref() {
        None | Some("") => 90,
        Some(d) => d
            .parse()
            .ok()
            .filter(|d| (1..=3_650).contains(d))
            .ok_or_else(|| WebError::BadRequest(format!("days: {d:?} is not a number of days from 1 to 3650")))?,
    };
    let clock = state.clock();
    let from = clock.now_ms - i64::from(days) * 86_400_000;
    let windows = state.advisories.exposure_windows(from, clock.now_ms + 1, &clock).await?;
    let stats = time_to_patch(&windows, group_by, from, clock.now_ms + 1);
    let max = stats.iter().filter_map(|t| t.p90_days).fold(0.0f64, f64::max).max(1.0);
    let fmt = |v: Option<f64>| v.map(|d| format!("{d:.1}")).unwrap_or_else(|| "–".to_owned());
    let rows = stats
        .iter()
        .enumerate()
        .map(|(i, t)| Bar {
            median: fmt(t.median_days),
            p90: fmt(t.p90_days),
            median_w: format!("{:.1}", t.median_days.unwrap_or(0.0) / max * BAR_MAX),
            p90_w: format!("{:.1}", t.p90_days.unwrap_or(0.0) / max * BAR_MAX),
            label_x: format!("{:.1}", LABEL_W + 6.0 + t.p90_days.unwrap_or(0.0) / max * BAR_MAX),
            y: i as u32 * ROW + 4,
            text_y: i as u32 * ROW + 19,
            t,
        })
        .collect();
    let data = Page {
        days,
        bys: ["severity", "group", "host", "all"]
            .into_iter()
            .map(|value| Choice { value, selected: value == by })
            .collect(),
        height: stats.len() as u32 * ROW + 8,
        max_days: format!("{max:.1}"),
        rows,
    };
    render::page(&state, "time_to_patch", &data)
}
