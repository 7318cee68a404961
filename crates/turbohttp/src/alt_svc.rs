//! The `Alt-Svc` header's value (RFC 7838 §3), parsed, so that a hyper user can feed
//! what a response advertises back into the next connect
//! ([`ConnectParams::with_alt_svc`](crate::ConnectParams::with_alt_svc)).
//!
//! ```text
//! Alt-Svc       = clear / 1#alt-value
//! alt-value     = alternative *( OWS ";" OWS parameter )
//! alternative   = protocol-id "=" alt-authority      ; protocol-id percent-encoded
//! alt-authority = quoted-string                      ; [ uri-host ] ":" port
//! parameter     = token "=" ( token / quoted-string ) ; ma=SECONDS, persist=1
//! ```

use std::fmt;
use std::time::Duration;

use turbohttp_proto::alt_svc::AltService;

/// How long an alternative stays fresh when its `ma` parameter is absent: 24 hours.
pub const DEFAULT_ALT_SVC_MAX_AGE: Duration = Duration::from_secs(86_400);

/// One alternative of an `Alt-Svc` header, with how long it may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AltSvcEntry {
    /// The ALPN protocol id (decoded: `http/1.1`, not `http%2F1.1`).
    pub alpn: String,
    /// The host; `None` for the origin's own (`h2=":8443"`). An IPv6 literal without
    /// its brackets.
    pub host: Option<String>,
    /// The port.
    pub port: u16,
    /// `ma`: how long from the response it may be used ([`DEFAULT_ALT_SVC_MAX_AGE`] when
    /// absent).
    pub max_age: Duration,
    /// `persist=1`: kept across network changes.
    pub persist: bool,
}

impl AltSvcEntry {
    /// The alternative as the race takes it.
    pub fn alternative(&self) -> AltService {
        AltService::new(self.alpn.clone(), self.host.as_deref(), Some(self.port))
    }
}

impl fmt::Display for AltSvcEntry {
    /// As a header element: `h2="alt.example:8443"; ma=60` (`ma` left out when it is
    /// the default, `persist=1` shown when set).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.alpn.as_bytes() {
            if is_tchar(b) && b != b'%' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "%{b:02X}")?;
            }
        }
        f.write_str("=\"")?;
        match self.host.as_deref() {
            Some(host) if host.contains(':') => write!(f, "[{host}]")?,
            Some(host) => f.write_str(host)?,
            None => {}
        }
        write!(f, ":{}\"", self.port)?;
        if self.max_age != DEFAULT_ALT_SVC_MAX_AGE {
            write!(f, "; ma={}", self.max_age.as_secs())?;
        }
        if self.persist {
            f.write_str("; persist=1")?;
        }
        Ok(())
    }
}

/// What an `Alt-Svc` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AltSvc {
    /// `clear`: forget every alternative of the origin.
    Clear,
    /// These alternatives replace the origin's (RFC 7838 §3.1), in its order of
    /// preference.
    Alternatives(Vec<AltSvcEntry>),
}

/// Why an `Alt-Svc` value could not be read. The byte offset is into the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AltSvcError {
    /// No alternative at all (an empty value, or only commas).
    Empty,
    /// Something other than a protocol id where one was expected.
    ExpectedProtocol {
        /// Where.
        at: usize,
    },
    /// A protocol id's percent-encoding is broken, or it is not UTF-8 once decoded.
    BadProtocolId {
        /// Where the protocol id starts.
        at: usize,
    },
    /// A protocol id not followed by `="authority"`.
    ExpectedAuthority {
        /// Where.
        at: usize,
    },
    /// A quoted string with no closing quote.
    UnterminatedQuote {
        /// Where it opened.
        at: usize,
    },
    /// An authority that is not `[host]:port`.
    BadAuthority {
        /// The authority as quoted.
        authority: String,
    },
    /// A parameter that is not `name=value`.
    BadParameter {
        /// Where.
        at: usize,
    },
    /// An `ma` that is not a number of seconds.
    BadMaxAge {
        /// The value given.
        value: String,
    },
    /// Something after an alternative other than `;` or `,`.
    Trailing {
        /// Where.
        at: usize,
    },
}

impl fmt::Display for AltSvcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the Alt-Svc value names no alternative"),
            Self::ExpectedProtocol { at } => {
                write!(
                    f,
                    "a protocol id was expected at byte {at} of the Alt-Svc value"
                )
            }
            Self::BadProtocolId { at } => write!(
                f,
                "the protocol id at byte {at} of the Alt-Svc value is badly percent-encoded"
            ),
            Self::ExpectedAuthority { at } => write!(
                f,
                "a quoted \"host:port\" was expected at byte {at} of the Alt-Svc value"
            ),
            Self::UnterminatedQuote { at } => write!(
                f,
                "the quoted string at byte {at} of the Alt-Svc value is not closed"
            ),
            Self::BadAuthority { authority } => write!(
                f,
                "the Alt-Svc authority \"{authority}\" is not [host]:port with a port from 1 to 65535"
            ),
            Self::BadParameter { at } => write!(
                f,
                "the parameter at byte {at} of the Alt-Svc value is not name=value"
            ),
            Self::BadMaxAge { value } => {
                write!(f, "the Alt-Svc ma \"{value}\" is not a number of seconds")
            }
            Self::Trailing { at } => write!(
                f,
                "unexpected text at byte {at} of the Alt-Svc value (a ';' or ',' was expected)"
            ),
        }
    }
}

impl std::error::Error for AltSvcError {}

/// Parses an `Alt-Svc` header value (RFC 7838 §3): `clear`, or alternatives with
/// their `ma` (default 24 h) and `persist`; unknown parameters are ignored.
///
/// ```
/// use std::time::Duration;
/// use turbohttp::{AltSvc, parse_alt_svc};
///
/// let AltSvc::Alternatives(list) = parse_alt_svc(r#"h3=":443"; ma=86400, h2="alt.example:8443""#)? else {
///     unreachable!()
/// };
/// assert_eq!((list[0].alpn.as_str(), list[0].host.as_deref(), list[0].port), ("h3", None, 443));
/// assert_eq!(list[1].host.as_deref(), Some("alt.example"));
/// assert_eq!(list[1].max_age, Duration::from_secs(86_400));
/// assert_eq!(parse_alt_svc("clear")?, AltSvc::Clear);
/// # Ok::<(), turbohttp::AltSvcError>(())
/// ```
pub fn parse_alt_svc(value: &str) -> Result<AltSvc, AltSvcError> {
    let mut p = Cursor {
        s: value.as_bytes(),
        i: 0,
    };
    p.ows();
    if value.trim_matches(is_ows_char) == "clear" {
        return Ok(AltSvc::Clear);
    }
    let mut entries = Vec::new();
    loop {
        // `1#` lists allow empty elements: `, ,h2=":443"`.
        p.ows();
        while p.eat(b',') {
            p.ows();
        }
        if p.done() {
            break;
        }
        entries.push(p.alt_value()?);
        p.ows();
        if p.done() {
            break;
        }
        if !p.eat(b',') {
            return Err(AltSvcError::Trailing { at: p.i });
        }
    }
    if entries.is_empty() {
        return Err(AltSvcError::Empty);
    }
    Ok(AltSvc::Alternatives(entries))
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> &str {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        // tchars are ASCII: the slice is UTF-8.
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default()
    }

    /// A quoted-string's content, unescaped; the cursor is on the opening quote.
    fn quoted(&mut self) -> Result<String, AltSvcError> {
        let open = self.i;
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(AltSvcError::UnterminatedQuote { at: open }),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b) => out.push(b),
                        None => return Err(AltSvcError::UnterminatedQuote { at: open }),
                    }
                    self.i += 1;
                }
                Some(b) => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
    }

    fn alt_value(&mut self) -> Result<AltSvcEntry, AltSvcError> {
        let at = self.i;
        let id = self.token();
        if id.is_empty() {
            return Err(AltSvcError::ExpectedProtocol { at });
        }
        let alpn = percent_decode(id).ok_or(AltSvcError::BadProtocolId { at })?;
        if !self.eat(b'=') || self.peek() != Some(b'"') {
            return Err(AltSvcError::ExpectedAuthority { at: self.i });
        }
        let authority = self.quoted()?;
        let (host, port) =
            split_authority(&authority).ok_or(AltSvcError::BadAuthority { authority })?;
        let mut entry = AltSvcEntry {
            alpn,
            host,
            port,
            max_age: DEFAULT_ALT_SVC_MAX_AGE,
            persist: false,
        };
        loop {
            let before = self.i;
            self.ows();
            if !self.eat(b';') {
                self.i = before;
                return Ok(entry);
            }
            self.ows();
            let at = self.i;
            let name = self.token().to_ascii_lowercase();
            if name.is_empty() {
                // `h2=":443";` (an empty parameter) is tolerated, as browsers do.
                if matches!(self.peek(), None | Some(b',' | b';')) {
                    continue;
                }
                return Err(AltSvcError::BadParameter { at });
            }
            if !self.eat(b'=') {
                return Err(AltSvcError::BadParameter { at });
            }
            let value = if self.peek() == Some(b'"') {
                self.quoted()?
            } else {
                self.token().to_owned()
            };
            match name.as_str() {
                "ma" => entry.max_age = max_age(&value)?,
                "persist" => entry.persist = value == "1",
                _ => {}
            }
        }
    }
}

/// `ma`'s delta-seconds; one too large for the clock is the longest it can be.
fn max_age(value: &str) -> Result<Duration, AltSvcError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AltSvcError::BadMaxAge {
            value: value.to_owned(),
        });
    }
    Ok(Duration::from_secs(value.parse().unwrap_or(u64::MAX)))
}

/// `[host]:port`, `host:port` or `:port`: the host (`None` when empty, an IPv6
/// literal without brackets) and a port from 1 to 65535.
fn split_authority(authority: &str) -> Option<(Option<String>, u16)> {
    let colon = authority.rfind(':')?;
    let (host, port) = (&authority[..colon], &authority[colon + 1..]);
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok().filter(|&p| p != 0)?;
    let host = match host.strip_prefix('[') {
        Some(rest) => {
            let inner = rest.strip_suffix(']')?;
            inner.parse::<std::net::Ipv6Addr>().ok()?;
            Some(inner.to_owned())
        }
        None if host.is_empty() => None,
        None => {
            // A reg-name or an IPv4 address: no brackets, spaces or a second colon.
            let bad = |b: u8| b.is_ascii_whitespace() || b"[]:\"/@?#\\".contains(&b);
            if host.bytes().any(|b| bad(b) || b.is_ascii_control()) {
                return None;
            }
            Some(host.to_owned())
        }
    };
    Some((host, port))
}

fn percent_decode(id: &str) -> Option<String> {
    let bytes = id.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_ows_char(c: char) -> bool {
    c == ' ' || c == '\t'
}
