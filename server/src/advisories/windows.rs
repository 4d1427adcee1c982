//! Time to patch: from a host's exposure windows (first seen exposed → fixed), the median and
//! 90th percentile per host, group or severity over a period. A window still open on a host
//! that stopped reporting is "unknown", never fixed.

use std::collections::BTreeMap;

/// One (host, advisory) window as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    pub hostname: String,
    pub group: String,
    pub severity: String,
    pub advisory: String,
    pub opened_ms: i64,
    /// When the host was seen fixed.
    pub closed_ms: Option<i64>,
    /// The host stopped reporting while exposed: nothing is known since.
    pub silent: bool,
}

/// The summary of the windows in one bucket (a host, a group, a severity, or all).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TimeToPatch {
    pub key: String,
    /// Windows closed within the period.
    pub fixed: usize,
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
    /// Windows open at the period's end on hosts that report.
    pub open: usize,
    /// Open windows on hosts that stopped reporting.
    pub unknown: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    All,
    Host,
    Group,
    Severity,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "" | "all" => GroupBy::All,
            "host" => GroupBy::Host,
            "group" | "os_group" => GroupBy::Group,
            "severity" => GroupBy::Severity,
            _ => return None,
        })
    }

    fn key(self, w: &Window) -> String {
        match self {
            GroupBy::All => "all".to_owned(),
            GroupBy::Host => w.hostname.clone(),
            GroupBy::Group => w.group.clone(),
            GroupBy::Severity => {
                if w.severity.is_empty() {
                    "unrated".to_owned()
                } else {
                    w.severity.clone()
                }
            }
        }
    }
}

const DAY_MS: f64 = 86_400_000.0;

/// Time to patch over windows fixed in [`from_ms`, `to_ms`), and the windows open at `to_ms`.
pub fn time_to_patch(windows: &[Window], group_by: GroupBy, from_ms: i64, to_ms: i64) -> Vec<TimeToPatch> {
    let mut buckets: BTreeMap<String, (Vec<f64>, usize, usize)> = BTreeMap::new();
    for w in windows {
        if w.opened_ms >= to_ms {
            continue;
        }
        let bucket = buckets.entry(group_by.key(w)).or_default();
        match w.closed_ms {
            Some(c) if c >= from_ms && c < to_ms => bucket.0.push((c - w.opened_ms).max(0) as f64 / DAY_MS),
            Some(c) if c < from_ms => {}
            _ if w.silent => bucket.2 += 1,
            _ => bucket.1 += 1,
        }
    }
    buckets
        .into_iter()
        .filter(|(_, (d, open, unknown))| !d.is_empty() || *open > 0 || *unknown > 0)
        .map(|(key, (mut days, open, unknown))| {
            days.sort_by(f64::total_cmp);
            TimeToPatch {
                key,
                fixed: days.len(),
                median_days: percentile(&days, 50),
                p90_days: percentile(&days, 90),
                open,
                unknown,
            }
        })
        .collect()
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(host: &str, severity: &str, opened_day: i64, closed_day: Option<i64>, silent: bool) -> Window {
        Window {
            hostname: host.into(),
            group: "Debian 12".into(),
            severity: severity.into(),
            advisory: "DSA-1".into(),
            opened_ms: opened_day * 86_400_000,
            closed_ms: closed_day.map(|d| d * 86_400_000),
            silent,
        }
    }

    #[test]
    fn median_p90_open_and_unknown() {
        let windows = [
            w("a", "high", 0, Some(1), false),
            w("b", "high", 0, Some(3), false),
            w("c", "low", 0, Some(10), false),
            w("d", "low", 5, None, false),
            w("e", "low", 5, None, true),
            w("f", "low", 0, Some(2), false),
        ];
        let all = time_to_patch(&windows, GroupBy::All, 2 * 86_400_000, 100 * 86_400_000);
        assert_eq!(all.len(), 1);
        // Fixed in the period: b (3 days), c (10), f (2); a was fixed before it.
        assert_eq!((all[0].fixed, all[0].median_days, all[0].p90_days), (3, Some(3.0), Some(10.0)));
        assert_eq!((all[0].open, all[0].unknown), (1, 1));
        let by = time_to_patch(&windows, GroupBy::Severity, 0, 100 * 86_400_000);
        assert_eq!(by.iter().map(|t| (t.key.as_str(), t.fixed)).collect::<Vec<_>>(), [("high", 2), ("low", 2)]);
        assert_eq!(percentile(&[1.0], 90), Some(1.0));
        assert_eq!(percentile(&[], 50), None);
    }
}
