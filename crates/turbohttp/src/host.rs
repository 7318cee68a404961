//! Parsing what a user names as the other end: a host (name or IP literal) and a port.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use turbohttp_proto::AddressFamily;

/// The longest DNS name, without its trailing dot (RFC 1035 §2.3.4).
const MAX_NAME_LEN: usize = 253;
/// The longest DNS label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// A host to connect to: a DNS name to resolve, or an IP literal that needs no resolver.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, as given (without brackets; a trailing dot is kept).
    Name(String),
    /// An IPv4 literal.
    V4(Ipv4Addr),
    /// An IPv6 literal with its scope (zone) id, 0 when none was given.
    V6(Ipv6Addr, u32),
}

impl Host {
    /// Parses a host: a name (`example.com`), an IPv4 literal (`127.0.0.1`), or an
    /// IPv6 literal with or without brackets (`::1`, `[::1]`, `[fe80::1%2]`).
    ///
    /// ```
    /// use turbohttp::Host;
    /// assert_eq!(Host::parse("[::1]").unwrap(), Host::parse("::1").unwrap());
    /// assert!(Host::parse("").is_err());
    /// assert!(Host::parse("exa mple.com").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, InputError> {
        Ok(match Parsed::of(input)? {
            Parsed::Name(name) => Self::Name(name.to_owned()),
            Parsed::Literal(literal) => literal,
        })
    }

    /// The IP address, for a literal.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Name(_) => None,
            Self::V4(v4) => Some(IpAddr::V4(*v4)),
            Self::V6(v6, _) => Some(IpAddr::V6(*v6)),
        }
    }

    /// The socket address of a literal at `port`; `None` for a name.
    pub fn socket_addr(&self, port: u16) -> Option<SocketAddr> {
        match self {
            Self::Name(_) => None,
            Self::V4(v4) => Some(SocketAddr::new(IpAddr::V4(*v4), port)),
            Self::V6(v6, scope) => Some(SocketAddr::V6(SocketAddrV6::new(*v6, port, 0, *scope))),
        }
    }
}

/// A host as [`Host::parse`] reads it, with a name borrowed from the input: what a
/// connect needs, without a copy of the name.
pub(crate) enum Parsed<'a> {
    /// A valid DNS name.
    Name(&'a str),
    /// An IP literal: [`Host::V4`] or [`Host::V6`].
    Literal(Host),
}

impl<'a> Parsed<'a> {
    pub(crate) fn of(input: &'a str) -> Result<Self, InputError> {
        if is_plain_name(input) {
            // The usual case, in one pass: no literal has a letter, and no name
            // this accepts fails `validate_name`.
            return Ok(Self::Name(input));
        }
        if input.is_empty() {
            return Err(InputError::EmptyHost);
        }
        if let Some(inner) = input.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| InputError::invalid_host(input, "a '[' without its closing ']'"))?;
            return parse_ipv6(inner, input).map(Self::Literal);
        }
        if input.contains(':') {
            return parse_ipv6(input, input).map(Self::Literal);
        }
        if let Ok(v4) = input.parse::<Ipv4Addr>() {
            return Ok(Self::Literal(Host::V4(v4)));
        }
        validate_name(input)?;
        Ok(Self::Name(input))
    }
}

impl fmt::Display for Host {
    /// Names as given, IPv4 as is, IPv6 in brackets so that `{host}:{port}` reads right.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::V4(v4) => write!(f, "{v4}"),
            Self::V6(v6, 0) => write!(f, "[{v6}]"),
            Self::V6(v6, scope) => write!(f, "[{v6}%{scope}]"),
        }
    }
}

fn parse_ipv6(literal: &str, input: &str) -> Result<Host, InputError> {
    let (addr, zone) = match literal.split_once('%') {
        Some((addr, zone)) => (addr, Some(zone)),
        None => (literal, None),
    };
    let v6 = addr
        .parse::<Ipv6Addr>()
        .map_err(|_| InputError::invalid_host(input, "not a valid IPv6 address"))?;
    let scope = match zone {
        None => 0,
        // Interface names would need if_nametoindex(3), which is unsafe FFI: numeric only.
        Some(zone) => zone.parse::<u32>().map_err(|_| {
            InputError::invalid_host(
                input,
                "the zone id after '%' must be a numeric interface index",
            )
        })?,
    };
    Ok(Host::V6(v6, scope))
}

/// What [`is_plain_name`] makes of each byte: not in a name, a digit, `-`, `.`, or
/// another byte of a name (a letter or `_`, which no IPv4 literal has).
const OTHER: u8 = 0;
const DIGIT: u8 = 1;
const HYPHEN: u8 = 2;
const DOT: u8 = 3;
const LETTER: u8 = 4;
static NAME_BYTES: [u8; 256] = {
    let mut class = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] = if c.is_ascii_digit() {
            DIGIT
        } else if c == b'-' {
            HYPHEN
        } else if c == b'.' {
            DOT
        } else if c.is_ascii_alphabetic() || c == b'_' {
            LETTER
        } else {
            OTHER
        };
        b += 1;
    }
    class
};

/// Whether `name` is a valid DNS name ([`validate_name`]) with a byte that is no
/// digit or dot (and so no IPv4 literal), read in one pass; `false` leaves the
/// verdict (and the error) to the full parse.
fn is_plain_name(name: &str) -> bool {
    let bare = name.strip_suffix('.').unwrap_or(name).as_bytes();
    let Some(&last) = bare.last() else {
        return false;
    };
    if bare.len() > MAX_NAME_LEN {
        return false;
    }
    let mut label_start = 0;
    let mut letters = false;
    for (i, &b) in bare.iter().enumerate() {
        match NAME_BYTES[usize::from(b)] {
            LETTER => letters = true,
            DIGIT => {}
            // Not at a label's start.
            HYPHEN if i > label_start => letters = true,
            // No empty label, none too long, none that ends with '-'.
            DOT if i > label_start && i - label_start <= MAX_LABEL_LEN && bare[i - 1] != b'-' => {
                label_start = i + 1;
            }
            _ => return false,
        }
    }
    let last_label = bare.len() - label_start;
    letters && last_label > 0 && last_label <= MAX_LABEL_LEN && last != b'-'
}

fn validate_name(name: &str) -> Result<(), InputError> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Err(InputError::invalid_host(
            name,
            "a name needs at least one label",
        ));
    }
    if bare.len() > MAX_NAME_LEN {
        return Err(InputError::invalid_host(
            name,
            "longer than the 253 characters a DNS name may have",
        ));
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return Err(InputError::invalid_host(
                name,
                "an empty label (two dots in a row, or a leading dot)",
            ));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(InputError::invalid_host(
                name,
                "a label longer than 63 characters",
            ));
        }
        // Underscores are not legal in host names but are common in real DNS (SRV-style
        // labels), so they pass; everything else outside LDH is refused.
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(InputError::invalid_host(
                name,
                "only letters, digits, '-', '_' and '.' may appear in a name",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(InputError::invalid_host(
                name,
                "a label may not start or end with '-'",
            ));
        }
    }
    Ok(())
}

/// Parses a port, refusing 0 (no service listens there) and anything over 65535.
pub fn parse_port(input: &str) -> Result<u16, InputError> {
    if input.is_empty() {
        return Err(InputError::MissingPort);
    }
    if !input.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InputError::InvalidPort {
            input: input.to_owned(),
        });
    }
    match input.parse::<u16>() {
        Ok(0) => Err(InputError::PortZero),
        Ok(port) => Ok(port),
        Err(_) => Err(InputError::InvalidPort {
            input: input.to_owned(),
        }),
    }
}

/// Parses `HOST:PORT`, with an IPv6 literal in brackets (`[::1]:443`).
///
/// ```
/// use turbohttp::{parse_authority, Host};
/// let (host, port) = parse_authority("[::1]:8443").unwrap();
/// assert_eq!((host.to_string(), port), ("[::1]".to_string(), 8443));
/// assert!(parse_authority("::1:443").is_err()); // ambiguous without brackets
/// ```
pub fn parse_authority(input: &str) -> Result<(Host, u16), InputError> {
    if input.is_empty() {
        return Err(InputError::EmptyHost);
    }
    let (host, port) = if input.starts_with('[') {
        let close = input
            .find(']')
            .ok_or_else(|| InputError::invalid_host(input, "a '[' without its closing ']'"))?;
        let rest = &input[close + 1..];
        let port = rest.strip_prefix(':').ok_or(InputError::MissingPort)?;
        (&input[..=close], port)
    } else {
        let (host, port) = input.rsplit_once(':').ok_or(InputError::MissingPort)?;
        if host.contains(':') {
            return Err(InputError::UnbracketedIpv6 {
                input: input.to_owned(),
            });
        }
        (host, port)
    };
    Ok((Host::parse(host)?, parse_port(port)?))
}

/// A host, port or timeout that cannot be used, found before anything is dialed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The host is the empty string.
    #[error("the host is empty")]
    EmptyHost,
    /// The host is neither a valid name nor an IP literal.
    #[error("the host {host:?} is not valid: {reason}")]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No port was given.
    #[error("no port was given (expected HOST:PORT)")]
    MissingPort,
    /// Port 0 cannot be connected to.
    #[error("port 0 cannot be connected to")]
    PortZero,
    /// The port is not a number from 1 to 65535.
    #[error("the port {input:?} is not a number from 1 to 65535")]
    InvalidPort {
        /// The port as given.
        input: String,
    },
    /// The connect asked for one family, but the transport dials only the other
    /// ([`TransportOptions::family`](crate::TransportOptions::family), or its
    /// only local address).
    #[error("{requested} was asked for, but this transport dials {allowed} only")]
    FamilyExcluded {
        /// The family the connect asked for.
        requested: AddressFamily,
        /// The only family the transport dials.
        allowed: AddressFamily,
    },
    /// `::1:443` is ambiguous; IPv6 literals with a port need brackets.
    #[error("{input:?} is ambiguous: write an IPv6 address with a port in brackets, as [::1]:443")]
    UnbracketedIpv6 {
        /// The text as given.
        input: String,
    },
    /// Only HTTP/3 was asked for, and this client cannot dial QUIC to that origin.
    #[error("only HTTP/3 was asked for, but {reason}")]
    Http3Unavailable {
        /// Why not (the TLS configuration cannot run QUIC).
        reason: String,
    },
}

impl InputError {
    fn invalid_host(host: &str, reason: &'static str) -> Self {
        Self::InvalidHost {
            host: host.to_owned(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_names() {
        assert_eq!(
            Host::parse("127.0.0.1").unwrap(),
            Host::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            Host::parse("::1").unwrap(),
            Host::V6(Ipv6Addr::LOCALHOST, 0)
        );
        assert_eq!(
            Host::parse("[::1]").unwrap(),
            Host::V6(Ipv6Addr::LOCALHOST, 0)
        );
        assert_eq!(
            Host::parse("[fe80::1%7]").unwrap(),
            Host::V6("fe80::1".parse().unwrap(), 7)
        );
        assert_eq!(
            Host::parse("example.com.").unwrap(),
            Host::Name("example.com.".into())
        );
        assert_eq!(
            Host::parse("_srv.example").unwrap(),
            Host::Name("_srv.example".into())
        );
    }

    #[test]
    fn the_one_pass_name_check_agrees_with_the_full_parse() {
        let long_label = "a".repeat(MAX_LABEL_LEN);
        let too_long_label = "a".repeat(MAX_LABEL_LEN + 1);
        let long_name = format!("{}.com", "a.".repeat((MAX_NAME_LEN - 4) / 2));
        let too_long_name = format!("{}com", "a.".repeat(MAX_NAME_LEN / 2));
        let inputs = [
            "example.com",
            "example.com.",
            "a",
            "a.",
            "1a",
            "a1.2",
            "1.2.3.4",
            "1.2.3.4.",
            "1.2.3",
            "999.1.1.1",
            "12",
            "_srv.example",
            "-a.com",
            "a-.com",
            "a.-b",
            "a-b.c-d",
            "a..b",
            ".a",
            "..",
            ".",
            "",
            "a b",
            "a:b",
            "::1",
            "[::1]",
            "exämple.com",
            "a.b-",
            long_label.as_str(),
            too_long_label.as_str(),
            long_name.as_str(),
            too_long_name.as_str(),
        ];
        for input in inputs {
            let full = if input.is_empty()
                || input.starts_with('[')
                || input.contains(':')
                || input.parse::<Ipv4Addr>().is_ok()
            {
                false
            } else {
                validate_name(input).is_ok()
            };
            // Never a name the full parse refuses or reads as a literal; every valid
            // name with a letter (all-digit names are left to the full parse).
            let letter = input.bytes().any(|b| !b.is_ascii_digit() && b != b'.');
            assert_eq!(is_plain_name(input), full && letter, "{input:?}");
        }
    }

    #[test]
    fn bad_hosts() {
        for bad in [
            "",
            ".",
            "...",
            "a..b",
            "-a.com",
            "a-.com",
            "a b",
            "[::1",
            "[127.0.0.1]",
            "::zz",
            "[fe80::1%eth0]",
            "é.com",
        ] {
            assert!(Host::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Host::parse(&"a".repeat(64)).is_err());
        let long = vec!["a".repeat(63); 5].join(".");
        assert!(Host::parse(&long).is_err());
    }

    #[test]
    fn authorities() {
        assert_eq!(
            parse_authority("localhost:80").unwrap(),
            (Host::Name("localhost".into()), 80)
        );
        assert_eq!(parse_authority("[::1]:443").unwrap().1, 443);
        assert_eq!(
            parse_authority("::1:443"),
            Err(InputError::UnbracketedIpv6 {
                input: "::1:443".into()
            })
        );
        assert_eq!(parse_authority("host"), Err(InputError::MissingPort));
        assert_eq!(parse_authority("host:"), Err(InputError::MissingPort));
        assert_eq!(parse_authority("[::1]"), Err(InputError::MissingPort));
        assert_eq!(parse_authority("host:0"), Err(InputError::PortZero));
        assert!(matches!(
            parse_authority("host:65536"),
            Err(InputError::InvalidPort { .. })
        ));
        assert!(matches!(
            parse_authority("host:-1"),
            Err(InputError::InvalidPort { .. })
        ));
        assert!(matches!(
            parse_authority("host:+1"),
            Err(InputError::InvalidPort { .. })
        ));
    }

    #[test]
    fn display_round_trips() {
        for s in ["[::1]", "127.0.0.1", "example.com", "[fe80::1%3]"] {
            assert_eq!(Host::parse(s).unwrap().to_string(), s);
        }
    }
}
