//! What the benchmark harnesses share: the loopback server's answer, the statistics
//! and number formatting of their tables, the round-robin order, and a probe for the
//! Python contender. Included by each harness with `#[path]`.

#![allow(dead_code)] // each harness uses a subset

use std::process::Command;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the loopback HTTP servers answer to every request.
pub const ANSWER: &[u8] = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";

/// Reads until the peer closes; answers an HTTP request (curl sends one) with a 204.
pub async fn drain(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                seen.extend_from_slice(&buf[..n]);
                if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    let _ = stream.write_all(ANSWER).await;
                    return;
                }
            }
        }
    }
}

/// Nearest-rank percentile of sorted values (the median of an even count averages the
/// two middle values).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if p == 0.5 && n.is_multiple_of(2) {
        return (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    }
    let rank = (p * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

pub fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{v:.0}");
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The contenders in round `round`'s order.
pub fn rotation<T: Copy>(active: &[T], round: usize) -> Vec<T> {
    let mut order = active.to_vec();
    if !order.is_empty() {
        order.rotate_left(round % active.len());
    }
    order
}

/// A curl that races (7.59 or newer: `--happy-eyeballs-timeout-ms` and several
/// addresses per `--resolve` entry); its `--version` text, for further checks.
pub fn probe_curl() -> Result<String, String> {
    let out = Command::new("curl")
        .arg("--version")
        .output()
        .map_err(|e| format!("curl not found: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let version = text.split_whitespace().nth(1).unwrap_or("");
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (7, 59) {
        return Err(format!(
            "curl {version} is older than 7.59 (needs --happy-eyeballs-timeout-ms)"
        ));
    }
    Ok(text)
}

pub fn probe_python() -> Result<(), String> {
    let status = Command::new("python3")
        .args([
            "-c",
            "import asyncio, sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)",
        ])
        .status()
        .map_err(|e| format!("python3 not found: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("python3 is older than 3.8 (no happy_eyeballs_delay)".into())
    }
}

/// How a row's per-run samples become the run's statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Median,
    P99,
    Max,
}

/// A table cell: the median of the runs' statistics (a maximum: the largest), and the
/// smallest and largest run.
#[derive(Debug, Clone, Copy)]
pub struct Cell {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Cell {
    /// The cell of one statistic per run (`None` without runs).
    pub fn of(mut per_run: Vec<f64>, agg: Agg) -> Option<Cell> {
        if per_run.is_empty() {
            return None;
        }
        per_run.sort_by(f64::total_cmp);
        let (lo, hi) = (per_run[0], per_run[per_run.len() - 1]);
        let value = match agg {
            Agg::Max => hi,
            Agg::Median | Agg::P99 => percentile(&per_run, 0.5),
        };
        Some(Cell { value, lo, hi })
    }

    /// `value [lo–hi]`, the range left out when the runs agree (or there was one).
    pub fn show(&self) -> String {
        let (lo, hi) = (number(self.lo), number(self.hi));
        if lo == hi {
            number(self.value)
        } else {
            format!("{} [{lo}–{hi}]", number(self.value))
        }
    }
}
