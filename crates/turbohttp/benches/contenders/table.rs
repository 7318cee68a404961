//! The rows of the printed table, the collected samples, and the table itself.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;

use crate::Settings;
use crate::common::{Agg, Cell, number, percentile};
use crate::contenders::Who;

// ---------------------------------------------------------------------------------
// Rows

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Better {
    Lower,
    Higher,
}

pub(crate) struct Row {
    pub(crate) key: &'static str,
    pub(crate) label: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) agg: Agg,
    pub(crate) better: Better,
    pub(crate) target: &'static str,
    /// Whether the floor competes on this row (else it is shown for reference only).
    pub(crate) floor_competes: bool,
}

pub(crate) const ROWS: &[Row] = &[
    Row {
        key: "s1.lat",
        label: "1 healthy: connect latency, median",
        unit: "µs",
        agg: Agg::Median,
        better: Better::Lower,
        target: "turbohttp ≤ floor +5%",
        floor_competes: true,
    },
    Row {
        key: "s1.lat",
        label: "1 healthy: connect latency, p99",
        unit: "µs",
        agg: Agg::P99,
        better: Better::Lower,
        target: "",
        floor_competes: true,
    },
    Row {
        key: "s1.tp1",
        label: "1 healthy: connects/s, 1 at a time",
        unit: "/s",
        agg: Agg::Median,
        better: Better::Higher,
        target: "turbohttp ≥ hyper-util",
        floor_competes: true,
    },
    Row {
        key: "s1.tp64",
        label: "1 healthy: connects/s, 64 at a time",
        unit: "/s",
        agg: Agg::Median,
        better: Better::Higher,
        target: "turbohttp ≥ hyper-util",
        floor_competes: true,
    },
    Row {
        key: "s1.wall",
        label: "1 healthy: whole process, spawn to exit, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: true,
    },
    Row {
        key: "s2.time",
        label: "2 ::1 stalled: time to connected, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s2.excess",
        label: "2 ::1 stalled: excess over stagger, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "< 1 ms, < curl, < asyncio",
        floor_competes: false,
    },
    Row {
        key: "s2.excess",
        label: "2 ::1 stalled: excess over stagger, p99",
        unit: "ms",
        agg: Agg::P99,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s3.time",
        label: "3 ::1 refused: time to connected, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "< 5 ms",
        floor_competes: false,
    },
    Row {
        key: "s3.time",
        label: "3 ::1 refused: time to connected, p99",
        unit: "ms",
        agg: Agg::P99,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s4.time",
        label: "4 1,000 refused + 1: time to connected, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "bounded by per-address cost",
        floor_competes: false,
    },
    Row {
        key: "s4.perattempt",
        label: "4 1,000 refused + 1: time per address, median",
        unit: "µs",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s4.inflight",
        label: "4 attempts in flight at once (race report), max",
        unit: "",
        agg: Agg::Max,
        better: Better::Lower,
        target: "≤ max_concurrent (2)",
        floor_competes: false,
    },
    Row {
        key: "s4.sockets",
        label: "4 socket fds open at once (sampled), max",
        unit: "",
        agg: Agg::Max,
        better: Better::Lower,
        target: "≤ 2 + winner",
        floor_competes: false,
    },
    Row {
        key: "s4.sockets1",
        label: "4 the same with only the healthy address, max",
        unit: "",
        agg: Agg::Max,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s4.mem",
        label: "4 extra peak memory for 1,000 addresses, median",
        unit: "KiB",
        agg: Agg::Median,
        better: Better::Lower,
        target: "linear, small constant",
        floor_competes: false,
    },
    Row {
        key: "s4.peraddr",
        label: "4 extra peak memory per address, median",
        unit: "B",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s4x.perattempt",
        label: "4b 5,000 refused + 1: time per address, median",
        unit: "µs",
        agg: Agg::Median,
        better: Better::Lower,
        target: "flat in the count",
        floor_competes: false,
    },
    Row {
        key: "s4x.peraddr",
        label: "4b 5,000 refused + 1: extra peak memory per address, median",
        unit: "B",
        agg: Agg::Median,
        better: Better::Lower,
        target: "flat in the count",
        floor_competes: false,
    },
    Row {
        key: "s6a0.wall",
        label: "6a {n0} at once, healthy: wall time, first spawn to last task joined, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "turbohttp ≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6a0.p50",
        label: "6a {n0} at once, healthy: connect latency from the burst start, p50, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6a0.p99",
        label: "6a {n0} at once, healthy: connect latency from the burst start, p99, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6a0.max",
        label: "6a {n0} at once, healthy: connect latency from the burst start, max, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s6a0.cpu",
        label: "6a {n0} at once, healthy: CPU (user+sys) per race, median",
        unit: "µs",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6a0.rss",
        label: "6a {n0} at once, healthy: peak RSS growth per race, median",
        unit: "B",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6b0.wall",
        label: "6b {s0} at once, ::1 stalled + 127.0.0.1: wall time, first spawn to last task joined, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "stagger + a few ms, ≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6b0.p50",
        label: "6b {s0} at once, ::1 stalled + 127.0.0.1: connect latency from the burst start, p50, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "stagger + a few ms",
        floor_competes: false,
    },
    Row {
        key: "s6b0.p99",
        label: "6b {s0} at once, ::1 stalled + 127.0.0.1: connect latency from the burst start, p99, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6b0.max",
        label: "6b {s0} at once, ::1 stalled + 127.0.0.1: connect latency from the burst start, max, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s6b0.cpu",
        label: "6b {s0} at once, ::1 stalled + 127.0.0.1: CPU (user+sys) per race, median",
        unit: "µs",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6b0.rss",
        label: "6b {s0} at once, ::1 stalled + 127.0.0.1: peak RSS growth per race, median",
        unit: "B",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6a1.wall",
        label: "6a {n1} at once, healthy: wall time, first spawn to last task joined, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "turbohttp ≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6a1.p50",
        label: "6a {n1} at once, healthy: connect latency from the burst start, p50, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6a1.p99",
        label: "6a {n1} at once, healthy: connect latency from the burst start, p99, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6a1.max",
        label: "6a {n1} at once, healthy: connect latency from the burst start, max, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s6a1.cpu",
        label: "6a {n1} at once, healthy: CPU (user+sys) per race, median",
        unit: "µs",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6a1.rss",
        label: "6a {n1} at once, healthy: peak RSS growth per race, median",
        unit: "B",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6b1.wall",
        label: "6b {s1} at once, ::1 stalled + 127.0.0.1: wall time, first spawn to last task joined, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "stagger + a few ms, ≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6b1.p50",
        label: "6b {s1} at once, ::1 stalled + 127.0.0.1: connect latency from the burst start, p50, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "stagger + a few ms",
        floor_competes: false,
    },
    Row {
        key: "s6b1.p99",
        label: "6b {s1} at once, ::1 stalled + 127.0.0.1: connect latency from the burst start, p99, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6b1.max",
        label: "6b {s1} at once, ::1 stalled + 127.0.0.1: connect latency from the burst start, max, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s6b1.cpu",
        label: "6b {s1} at once, ::1 stalled + 127.0.0.1: CPU (user+sys) per race, median",
        unit: "µs",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s6b1.rss",
        label: "6b {s1} at once, ::1 stalled + 127.0.0.1: peak RSS growth per race, median",
        unit: "B",
        agg: Agg::Median,
        better: Better::Lower,
        target: "≤ hyper-util",
        floor_competes: false,
    },
    Row {
        key: "s5.10",
        label: "5 planner: 10 addresses, per address",
        unit: "ns",
        agg: Agg::Median,
        better: Better::Lower,
        target: "< 1 µs, linear",
        floor_competes: false,
    },
    Row {
        key: "s5.1000",
        label: "5 planner: 1,000 addresses, per address",
        unit: "ns",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s5.100000",
        label: "5 planner: 100,000 addresses, per address",
        unit: "ns",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
];

/// Scenario 6's keys for one count and case (see [`ManySample`](crate::samplers::ManySample)).
pub(crate) struct ManyKeys {
    pub(crate) wall: &'static str,
    pub(crate) p50: &'static str,
    pub(crate) p99: &'static str,
    pub(crate) max: &'static str,
    pub(crate) cpu: &'static str,
    pub(crate) rss: &'static str,
}

/// Scenario 6's keys for the count in `slot` (0 or 1) of the healthy (6a) or stalled
/// (6b) counts.
pub(crate) fn many_keys(slot: usize, stalled: bool) -> ManyKeys {
    macro_rules! keys {
        ($k:literal) => {
            ManyKeys {
                wall: concat!($k, ".wall"),
                p50: concat!($k, ".p50"),
                p99: concat!($k, ".p99"),
                max: concat!($k, ".max"),
                cpu: concat!($k, ".cpu"),
                rss: concat!($k, ".rss"),
            }
        };
    }
    match (slot, stalled) {
        (0, false) => keys!("s6a0"),
        (0, true) => keys!("s6b0"),
        (_, false) => keys!("s6a1"),
        (_, true) => keys!("s6b1"),
    }
}

/// A row's label with scenario 6's counts in place of `{n0}` and `{n1}` (healthy) and
/// `{s0}` and `{s1}` (stalled).
fn label(row: &Row, settings: &Settings) -> String {
    let count = |counts: &[usize], slot: usize| {
        let n = counts.get(slot).map_or(0, |&n| n);
        if n >= 1000 {
            number(n as f64)
        } else {
            n.to_string()
        }
    };
    row.label
        .replace("{n0}", &count(&settings.many, 0))
        .replace("{n1}", &count(&settings.many, 1))
        .replace("{s0}", &count(&settings.many_stalled, 0))
        .replace("{s1}", &count(&settings.many_stalled, 1))
}

// ---------------------------------------------------------------------------------
// Results

#[derive(Default)]
pub(crate) struct Results {
    /// The run (0-based) that [`add`](Self::add) files samples under.
    pub(crate) run: usize,
    /// Per key and contender, each run's samples (index: the run).
    pub(crate) samples: HashMap<(&'static str, Who), Vec<Vec<f64>>>,
    pub(crate) errors: HashMap<(&'static str, Who), String>,
    /// Whole-contender skips.
    pub(crate) skipped: Vec<(Who, String)>,
    /// Scenario-wide skips.
    pub(crate) scenario_skips: Vec<String>,
}

impl Results {
    pub(crate) fn add(&mut self, key: &'static str, who: Who, value: f64) {
        let runs = self.samples.entry((key, who)).or_default();
        if runs.len() <= self.run {
            runs.resize_with(self.run + 1, Vec::new);
        }
        runs[self.run].push(value);
    }

    pub(crate) fn record(&mut self, key: &'static str, who: Who, result: io::Result<f64>) {
        match result {
            Ok(v) => self.add(key, who, v),
            Err(e) => {
                self.errors
                    .entry((key, who))
                    .or_insert_with(|| e.to_string());
            }
        }
    }

    /// A scenario-wide skip, noted once however many runs hit it.
    pub(crate) fn skip_scenario(&mut self, why: String) {
        if !self.scenario_skips.contains(&why) {
            self.scenario_skips.push(why);
        }
    }

    /// The row's statistic in each run, `None` for a run without samples.
    fn per_run(&self, row: &Row, who: Who) -> Vec<Option<f64>> {
        let Some(runs) = self.samples.get(&(row.key, who)) else {
            return Vec::new();
        };
        runs.iter()
            .map(|samples| {
                if samples.is_empty() {
                    return None;
                }
                let mut v = samples.clone();
                v.sort_by(f64::total_cmp);
                Some(match row.agg {
                    Agg::Median => percentile(&v, 0.5),
                    Agg::P99 => percentile(&v, 0.99),
                    Agg::Max => v[v.len() - 1],
                })
            })
            .collect()
    }

    pub(crate) fn value(&self, row: &Row, who: Who) -> Option<Cell> {
        Cell::of(
            self.per_run(row, who).into_iter().flatten().collect(),
            row.agg,
        )
    }

    /// `ours` against `theirs` run by run (runs where both have a value): how many times
    /// worse `ours` is (for rates, `theirs ÷ ours`), over the runs.
    fn paired(&self, row: &Row, ours: Who, theirs: Who) -> Option<Cell> {
        let (a, b) = (self.per_run(row, ours), self.per_run(row, theirs));
        let ratios = a
            .iter()
            .zip(&b)
            .filter_map(|(a, b)| match ((*a)?, (*b)?, row.better) {
                (a, b, Better::Lower) if b > 0.0 => Some(a / b),
                (a, b, Better::Higher) if a > 0.0 => Some(b / a),
                _ => None,
            })
            .collect();
        Cell::of(ratios, Agg::Median)
    }
}

// ---------------------------------------------------------------------------------
// The tables

/// The same-options pairs: (turbohttp side, hyper-util side, column title).
const PAIRS: [(Who, Who, &str); 2] = [
    (
        Who::Turbo,
        Who::HyperTurboOpts,
        "turbohttp ÷ hyper-util, both with turbohttp's options (TCP_NODELAY, keepalive 60 s)",
    ),
    (
        Who::TurboHyperOpts,
        Who::Hyper,
        "turbohttp ÷ hyper-util, both with hyper-util's options (neither)",
    ),
];

pub(crate) fn render(results: &Results, settings: &Settings) -> String {
    let mut out = String::new();
    let header: Vec<&str> = Who::ALL.iter().map(|w| w.name()).collect();
    let _ = writeln!(
        out,
        "| scenario and metric | unit | {} | target |",
        header.join(" | ")
    );
    let _ = writeln!(out, "|---|---|{}---|", "---:|".repeat(Who::ALL.len()));
    for row in ROWS {
        let values: Vec<Option<Cell>> = Who::ALL.iter().map(|&w| results.value(row, w)).collect();
        let errors = Who::ALL
            .iter()
            .filter(|&&w| results.errors.contains_key(&(row.key, w)))
            .count();
        if values.iter().all(Option::is_none) && errors == 0 {
            continue;
        }
        let competing = |w: Who| row.floor_competes || w != Who::Floor;
        let best = Who::ALL
            .iter()
            .zip(&values)
            .filter(|(w, v)| competing(**w) && v.is_some())
            .filter_map(|(_, v)| v.map(|c| c.value))
            .reduce(|a, b| match row.better {
                Better::Lower => a.min(b),
                Better::Higher => a.max(b),
            });
        let contenders = values.iter().filter(|v| v.is_some()).count();
        let cells: Vec<String> = Who::ALL
            .iter()
            .zip(&values)
            .map(|(&w, cell)| match cell {
                Some(cell) => {
                    let v = cell.value;
                    let ratio = match (best, row.better) {
                        (Some(b), Better::Lower) if b > 0.0 => Some(v / b),
                        (Some(b), Better::Higher) if v > 0.0 => Some(b / v),
                        _ => None,
                    };
                    match ratio {
                        Some(r) if competing(w) && contenders > 1 => {
                            format!("{} ({r:.2}×)", cell.show())
                        }
                        _ if !competing(w) => format!("{} (ref)", cell.show()),
                        _ => cell.show(),
                    }
                }
                None => match results.errors.get(&(row.key, w)) {
                    Some(e) if e.contains("timed out") => "timed out".into(),
                    Some(_) => "error".into(),
                    None => "—".into(),
                },
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            label(row, settings),
            row.unit,
            cells.join(" | "),
            row.target
        );
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "cell: median over the runs of each run's statistic [smallest–largest run] (a maximum: \
         the largest run). ratio: times worse than the best contender on the row (1.00× = best; \
         for rates, best ÷ value); (ref) = the floor, shown for reference only. stagger {} ms, \
         {} runs × {} rounds{}.",
        settings.stagger.as_millis(),
        settings.runs,
        settings.rounds,
        if settings.smoke {
            ", SMOKE MODE: numbers mean nothing"
        } else {
            ""
        }
    );

    if settings.scenarios.contains(&6) {
        let _ = writeln!(
            out,
            "scenario 6, per burst (a fresh process): wall = first spawn to last task joined; \
             latency = the burst's start to that connect done, its p50/p99/max (nearest rank) \
             over the burst's connects; CPU and peak RSS growth of the process ÷ the count. \
             A row's run statistic is the median over that run's bursts."
        );
    }

    // Same options, same run: the ratios that compare the same work.
    let mut paired = String::new();
    for row in ROWS.iter().filter(|r| r.agg != Agg::Max) {
        let cells: Vec<Option<Cell>> = PAIRS
            .iter()
            .map(|&(ours, theirs, _)| results.paired(row, ours, theirs))
            .collect();
        if cells.iter().all(Option::is_none) {
            continue;
        }
        let cells: Vec<String> = cells
            .iter()
            .map(|c| match c {
                Some(c) if c.lo.to_bits() != c.hi.to_bits() => {
                    format!("{:.2}× [{:.2}–{:.2}]", c.value, c.lo, c.hi)
                }
                Some(c) => format!("{:.2}×", c.value),
                None => "—".into(),
            })
            .collect();
        let _ = writeln!(
            paired,
            "| {} | {} |",
            label(row, settings),
            cells.join(" | ")
        );
    }
    if !paired.is_empty() {
        let titles: Vec<&str> = PAIRS.iter().map(|p| p.2).collect();
        let _ = writeln!(out);
        let _ = writeln!(out, "| same options, same run | {} |", titles.join(" | "));
        let _ = writeln!(out, "|---|{}", "---:|".repeat(PAIRS.len()));
        out.push_str(&paired);
        let _ = writeln!(
            out,
            "\nsame options: turbohttp's cost ÷ hyper-util's in each run (for rates, hyper-util's \
             ÷ turbohttp's: above 1.00× turbohttp is behind), median over the runs [smallest–largest]."
        );
    }
    out.push('\n');
    for (who, why) in &results.skipped {
        let _ = writeln!(out, "skipped {}: {why}", who.name());
    }
    for why in &results.scenario_skips {
        let _ = writeln!(out, "skipped: {why}");
    }
    let mut errors: Vec<_> = results.errors.iter().collect();
    errors.sort_by_key(|((k, w), _)| (*k, w.name()));
    for ((key, who), e) in errors {
        let _ = writeln!(out, "error in {key} for {}: {e}", who.name());
    }
    out
}
