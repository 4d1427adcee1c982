//! What `/metrics` says, in Prometheus' text exposition format: counters and histograms the
//! server keeps as it works (reports by door and result, ingest latency, recomputations,
//! refreshes), and gauges read when scraped (hosts by status, the recompute queue). One
//! registry per process; recording is a lock and an add, never a wait on I/O.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Histogram buckets, in seconds: from a millisecond to a minute.
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0];

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<(&'static str, Labels), u64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

/// (help, type) of every metric the registry may hold.
const HELP: &[(&str, &str, &str)] = &[
    ("patchman_reports_total", "counter", "Reports received, by front door and what became of them."),
    ("patchman_ingest_duration_seconds", "histogram", "From a report's arrival to its answer, by front door."),
    ("patchman_recompute_duration_seconds", "histogram", "Recomputations of stale hosts' updates."),
    ("patchman_recomputed_hosts_total", "counter", "Hosts whose updates were recomputed."),
    ("patchman_refresh_duration_seconds", "histogram", "Refreshes of one repository from its mirrors."),
    (
        "patchman_refresh_failures_total",
        "counter",
        "Refreshes in which no mirror of the repository answered, by repository.",
    ),
];

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

fn with<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
    f(&mut r)
}

pub fn count(name: &'static str, labels: &[(&'static str, &str)], by: u64) {
    let labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    with(|r| *r.counters.entry((name, labels)).or_default() += by);
}

pub fn observe(name: &'static str, labels: &[(&'static str, &str)], took: Duration) {
    let labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    let secs = took.as_secs_f64();
    with(|r| {
        let h = r.histograms.entry((name, labels)).or_default();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    });
}

/// A report's fate at a front door (`grpc`, `grpc_digest`, `protocol1`, `protocol2`):
/// `stored`, `unchanged`, `duplicate`, `superseded`, `send_report` (a digest the server asks
/// the whole report for), or `rejected_<why>`.
pub fn report(door: &'static str, result: &str, took: Duration) {
    count("patchman_reports_total", &[("door", door), ("result", result)], 1);
    observe("patchman_ingest_duration_seconds", &[("door", door)], took);
}

/// A gauge read when scraped.
#[derive(Debug, Clone)]
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn label_text(labels: &[(&'static str, String)], extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
}

/// Everything, in the text exposition format (version 0.0.4).
pub fn render(gauges: &[Gauge]) -> String {
    let mut out = String::new();
    let mut described = std::collections::HashSet::new();
    for g in gauges {
        if described.insert(g.name) {
            let _ = writeln!(out, "# HELP {} {}\n# TYPE {} gauge", g.name, g.help, g.name);
        }
        let _ = writeln!(out, "{}{} {}", g.name, label_text(&g.labels, None), g.value);
    }
    with(|r| {
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            if *kind == "counter" {
                for ((n, labels), v) in r.counters.iter().filter(|((n, _), _)| n == name) {
                    let _ = writeln!(out, "{n}{} {v}", label_text(labels, None));
                }
            } else {
                for ((n, labels), h) in r.histograms.iter().filter(|((n, _), _)| n == name) {
                    for (i, le) in BUCKETS.iter().enumerate() {
                        let _ = writeln!(
                            out,
                            "{n}_bucket{} {}",
                            label_text(labels, Some(("le", le.to_string()))),
                            h.counts[i]
                        );
                    }
                    let _ = writeln!(out, "{n}_bucket{} {}", label_text(labels, Some(("le", "+Inf".into()))), h.count);
                    let _ = writeln!(out, "{n}_sum{} {}", label_text(labels, None), h.sum);
                    let _ = writeln!(out, "{n}_count{} {}", label_text(labels, None), h.count);
                }
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_histograms_and_gauges_render_in_the_text_format() {
        report("grpc", "stored", Duration::from_millis(3));
        report("grpc", "stored", Duration::from_millis(30));
        count("patchman_refresh_failures_total", &[("repository", "a \"b\"")], 1);
        let gauges = [Gauge {
            name: "patchman_hosts",
            help: "Hosts by status.",
            labels: vec![("status", "silent".into())],
            value: 2.0,
        }];
        let text = render(&gauges);
        assert!(text.contains("# TYPE patchman_hosts gauge\npatchman_hosts{status=\"silent\"} 2\n"), "{text}");
        assert!(text.contains("patchman_reports_total{door=\"grpc\",result=\"stored\"} 2\n"), "{text}");
        assert!(text.contains("patchman_ingest_duration_seconds_bucket{door=\"grpc\",le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("patchman_ingest_duration_seconds_bucket{door=\"grpc\",le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("patchman_refresh_failures_total{repository=\"a \\\"b\\\"\"} 1\n"), "{text}");
    }
}
