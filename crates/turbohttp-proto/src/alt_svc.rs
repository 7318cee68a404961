//! HTTP Alternative Services (RFC 7838) as the race reads them: an origin said, in an
//! earlier response's `Alt-Svc` header, that it can also be reached with `protocol` at
//! `host:port`. The caller keeps that list (and its `ma` expiry: the core reads no
//! clock) and hands the live entries to the race ([`Race::with_alternatives`]), which
//! dials them the way it dials an HTTPS record's service ([`ServiceInfo`]).
//!
//! [`Race::with_alternatives`]: crate::race::Race::with_alternatives
//! [`ServiceInfo`]: crate::service::ServiceInfo

use std::fmt;

use crate::service::{Protocols, Verdict};

/// The most alternatives a race uses; the rest are skipped as
/// [`Verdict::TooManyRecords`]. Each turns a name's whole answer into endpoints, as an
/// HTTPS record does ([`MAX_SERVICES`](crate::service::MAX_SERVICES)).
pub const MAX_ALTERNATIVES: usize = 16;

/// One alternative service (RFC 7838 §3): the ALPN protocol id it speaks, and where.
///
/// ```
/// use turbohttp_proto::alt_svc::AltService;
/// use turbohttp_proto::service::{Protocols, Verdict};
///
/// // Alt-Svc: h2="alt.example:8443"
/// let alt = AltService::new("h2", Some("alt.example"), Some(8443));
/// assert_eq!(alt.to_string(), "h2=\"alt.example:8443\"");
/// assert_eq!(alt.verdict(Protocols::TCP), Verdict::Use(Protocols::H2));
/// // h3 alone: skipped unless the race may dial QUIC (`verdict_dialing`).
/// assert_eq!(AltService::new("h3", None, Some(443)).verdict(Protocols::ALL), Verdict::QuicOnly);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AltService {
    /// The ALPN protocol id, decoded (`h2`, `http/1.1`, `h3`; others are kept for the
    /// report and never used).
    pub alpn: String,
    /// The host; `None` for the origin's own (`h2=":8443"`).
    pub host: Option<String>,
    /// The port; `None` for the origin's.
    pub port: Option<u16>,
}

impl AltService {
    /// The alternative `alpn` at `host` (`None`: the origin's) and `port` (`None`: the
    /// origin's).
    pub fn new(alpn: impl Into<String>, host: Option<&str>, port: Option<u16>) -> Self {
        Self {
            alpn: alpn.into(),
            host: host.map(str::to_owned),
            port,
        }
    }

    /// The protocol its ALPN id names, if the race knows it ([`Protocols::NONE`]
    /// otherwise).
    pub fn protocols(&self) -> Protocols {
        Protocols::of_alpn(&self.alpn).unwrap_or(Protocols::NONE)
    }

    /// What the race makes of it for a caller that speaks `caller`: used with its one
    /// protocol when the caller speaks it over TCP; [`Verdict::QuicOnly`] for `h3`
    /// (QUIC not dialed: [`AltService::verdict_dialing`]); otherwise [`Verdict::NoSharedProtocol`].
    pub fn verdict(&self, caller: Protocols) -> Verdict {
        self.verdict_dialing(caller, false)
    }

    /// [`AltService::verdict`] for a caller that can dial QUIC when `quic`: then an
    /// `h3` alternative the caller speaks is used, dialed over QUIC.
    pub fn verdict_dialing(&self, caller: Protocols, quic: bool) -> Verdict {
        let protocols = self.protocols();
        let dialed = if quic { Protocols::ALL } else { Protocols::TCP };
        let tcp = protocols.intersection(caller).intersection(dialed);
        if !tcp.is_empty() {
            Verdict::Use(tcp)
        } else if protocols == Protocols::H3 {
            Verdict::QuicOnly
        } else {
            Verdict::NoSharedProtocol
        }
    }
}

impl fmt::Display for AltService {
    /// As in the header: `h2="alt.example:8443"`, `h2=":8443"` (the origin's port shown
    /// as empty when unknown: `h2="alt.example:"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=\"", self.alpn)?;
        match self.host.as_deref() {
            Some(host) if host.contains(':') && !host.starts_with('[') => write!(f, "[{host}]")?,
            Some(host) => f.write_str(host)?,
            None => {}
        }
        f.write_str(":")?;
        if let Some(port) = self.port {
            write!(f, "{port}")?;
        }
        f.write_str("\"")
    }
}

/// One alternative given to a race and what the race made of it, as the report keeps
/// it (the alternatives' counterpart of [`ServiceRecord`](crate::service::ServiceRecord)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AltServiceRecord {
    /// The alternative.
    pub alt: AltService,
    /// Used or skipped, and why.
    pub verdict: Verdict,
    /// Its place among the alternatives tried (0 first), if used.
    pub rank: Option<usize>,
}

impl fmt::Display for AltServiceRecord {
    /// `h2="alt.example:8443": used (h2)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.alt, self.verdict)
    }
}
