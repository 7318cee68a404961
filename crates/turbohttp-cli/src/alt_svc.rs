//! `--alt-svc FILE`: curl's Alt-Svc cache file, read before the connect and written
//! back by `get` with what the response's `Alt-Svc` header advertised.
//!
//! One line per alternative, as curl writes them (`#` starts a comment):
//!
//! ```text
//! ALPN_SRC HOST_SRC PORT_SRC ALPN_DST HOST_DST PORT_DST "YYYYMMDD HH:MM:SS" PERSIST PRIO
//! h1 example.test 443 h2 alt.test 8443 "20300101 00:00:00" 0 0
//! ```
//!
//! ALPN ids are curl's `h1`, `h2`, `h3`; IPv6 hosts are in brackets; the expiry is UTC.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use turbohttp::{AltService, AltSvc};

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The source: curl's ALPN id of the connection the header came over, host, port.
    pub src_alpn: String,
    /// The origin's host.
    pub src_host: String,
    /// The origin's port.
    pub src_port: u16,
    /// The alternative's ALPN id, curl's spelling (`h1`, `h2`, `h3`).
    pub dst_alpn: String,
    /// The alternative's host (the origin's when the header named none).
    pub dst_host: String,
    /// The alternative's port.
    pub dst_port: u16,
    /// When it expires, in seconds since the epoch (UTC).
    pub expires: u64,
    /// `persist=1`.
    pub persist: bool,
    /// curl's priority column (always 0 as curl writes it).
    pub prio: u32,
}

/// The cache: its entries in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cache {
    /// The entries read (garbled lines left out).
    pub entries: Vec<Entry>,
}

/// Seconds since the epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

impl Cache {
    /// Reads `path`; a missing file is an empty cache (as in curl). Returns the
    /// warnings for lines it could not read, which are skipped.
    pub fn load(path: &Path) -> Result<(Self, Vec<String>), String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(Self::parse(&text, &path.display().to_string()))
    }

    /// The file's text into entries, with a warning per line skipped.
    pub fn parse(text: &str, name: &str) -> (Self, Vec<String>) {
        let mut cache = Self::default();
        let mut warnings = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Some(entry) => cache.entries.push(entry),
                None => warnings.push(format!(
                    "{name}:{}: not an Alt-Svc cache line, skipped: {line}",
                    n + 1
                )),
            }
        }
        (cache, warnings)
    }

    /// The live alternatives for the origin `host:port` (a source of `h1` or `h2`:
    /// what this command connects over), in file order.
    pub fn alternatives_for(&self, host: &str, port: u16, now: u64) -> Vec<AltService> {
        self.entries
            .iter()
            .filter(|e| {
                matches!(e.src_alpn.as_str(), "h1" | "h2")
                    && same_host(&e.src_host, host)
                    && e.src_port == port
                    && e.expires > now
            })
            .map(|e| {
                let host = unbracket(&e.dst_host);
                AltService::new(alpn_of_curl(&e.dst_alpn), Some(host), Some(e.dst_port))
            })
            .collect()
    }

    /// What a response from `host:port` over `src_alpn` (`h1`, `h2`) advertised: its
    /// alternatives replace the origin's entries (RFC 7838 §3.1), `clear` removes
    /// them; other origins' lines stay. Alternatives whose protocol curl has no id
    /// for are left out.
    pub fn update(&mut self, host: &str, port: u16, src_alpn: &str, header: &AltSvc, now: u64) {
        self.entries
            .retain(|e| !(same_host(&e.src_host, host) && e.src_port == port));
        let AltSvc::Alternatives(list) = header else {
            return;
        };
        for alt in list {
            let Some(dst_alpn) = curl_of_alpn(&alt.alpn) else {
                continue;
            };
            let dst_host = alt.host.as_deref().unwrap_or(host);
            self.entries.push(Entry {
                src_alpn: src_alpn.to_owned(),
                src_host: bracket(host),
                src_port: port,
                dst_alpn: dst_alpn.to_owned(),
                dst_host: bracket(dst_host),
                dst_port: alt.port,
                expires: now.saturating_add(alt.max_age.as_secs()),
                persist: alt.persist,
                prio: 0,
            });
        }
    }

    /// The file's text, as curl writes it.
    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "# Your alt-svc cache. https://curl.se/docs/alt-svc.html\n\
             # This file was generated by turbohttp (curl's format).\n",
        );
        for e in &self.entries {
            let _ = writeln!(
                out,
                "{} {} {} {} {} {} \"{}\" {} {}",
                e.src_alpn,
                e.src_host,
                e.src_port,
                e.dst_alpn,
                e.dst_host,
                e.dst_port,
                format_time(e.expires),
                u8::from(e.persist),
                e.prio
            );
        }
        out
    }

    /// Writes the file (created if missing).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        std::fs::write(path, self.to_text())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

fn parse_line(line: &str) -> Option<Entry> {
    // The date is quoted and holds a space: split around the quotes.
    let open = line.find('"')?;
    let close = open + 1 + line[open + 1..].find('"')?;
    let head: Vec<&str> = line[..open].split_whitespace().collect();
    let tail: Vec<&str> = line[close + 1..].split_whitespace().collect();
    let [src_alpn, src_host, src_port, dst_alpn, dst_host, dst_port] = head[..] else {
        return None;
    };
    let [persist, prio] = tail[..] else {
        return None;
    };
    let known = |id: &str| matches!(id, "h1" | "h2" | "h3");
    if !known(src_alpn) || !known(dst_alpn) {
        return None;
    }
    let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0);
    Some(Entry {
        src_alpn: src_alpn.to_owned(),
        src_host: src_host.to_owned(),
        src_port: port(src_port)?,
        dst_alpn: dst_alpn.to_owned(),
        dst_host: dst_host.to_owned(),
        dst_port: port(dst_port)?,
        expires: parse_time(&line[open + 1..close])?,
        persist: match persist {
            "0" => false,
            "1" => true,
            _ => return None,
        },
        prio: prio.parse().ok()?,
    })
}

fn same_host(a: &str, b: &str) -> bool {
    unbracket(a)
        .trim_end_matches('.')
        .eq_ignore_ascii_case(unbracket(b).trim_end_matches('.'))
}

fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn alpn_of_curl(id: &str) -> &str {
    match id {
        "h1" => "http/1.1",
        other => other,
    }
}

fn curl_of_alpn(alpn: &str) -> Option<&'static str> {
    match alpn {
        "http/1.1" => Some("h1"),
        "h2" => Some("h2"),
        "h3" => Some("h3"),
        _ => None,
    }
}

/// `YYYYMMDD HH:MM:SS` (UTC) into seconds since the epoch.
pub fn parse_time(text: &str) -> Option<u64> {
    let (date, time) = text.split_once(' ')?;
    if date.len() != 8 || time.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i64 = date[..4].parse().ok()?;
    let month: u32 = date[4..6].parse().ok()?;
    let day: u32 = date[6..].parse().ok()?;
    let mut hms = time.split(':');
    let mut field = |max: u64| {
        let f = hms.next().filter(|f| f.len() == 2)?;
        f.parse::<u64>().ok().filter(|&v| v <= max)
    };
    let (h, m, s) = (field(23)?, field(59)?, field(60)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days.checked_mul(86_400)? + i64::try_from(h * 3600 + m * 60 + s).ok()?;
    u64::try_from(secs).ok()
}

/// Seconds since the epoch as `YYYYMMDD HH:MM:SS` (UTC).
pub fn format_time(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rest = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_back_and_match_known_dates() {
        assert_eq!(parse_time("19700101 00:00:00"), Some(0));
        assert_eq!(parse_time("20000301 12:34:56"), Some(951_914_096));
        assert_eq!(format_time(951_914_096), "20000301 12:34:56");
        for secs in [0, 59, 86_399, 951_782_400, 1_709_251_199, 4_102_444_800] {
            assert_eq!(parse_time(&format_time(secs)), Some(secs));
        }
        for bad in [
            "2000030 12:34:56",
            "20001301 00:00:00",
            "20000101 24:00:00",
            "x",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn lines_read_and_write_as_curl_does() {
        let text = "# comment\n\
                    h2 web.test 443 h2 alt.test 8443 \"20300101 00:00:00\" 0 0\n\
                    h1 [::1] 80 h1 [::1] 8080 \"20300101 00:00:00\" 1 0\n\
                    garbage line\n\
                    h9 web.test 443 h2 alt.test 1 \"20300101 00:00:00\" 0 0\n";
        let (cache, warnings) = Cache::parse(text, "f");
        assert_eq!(cache.entries.len(), 2);
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].starts_with("f:4: "), "{warnings:?}");
        let (again, none) = Cache::parse(&cache.to_text(), "f");
        assert_eq!(again, cache);
        assert!(none.is_empty());
        let alts = cache.alternatives_for("::1", 80, 0);
        assert_eq!(alts, [AltService::new("http/1.1", Some("::1"), Some(8080))]);
        // Expired: none.
        assert!(
            cache
                .alternatives_for("WEB.test", 443, 1_900_000_000)
                .is_empty()
        );
        assert_eq!(cache.alternatives_for("WEB.test", 443, 0).len(), 1);
    }
}
