//! [`Scheme`]: whether a connection speaks TLS.

use std::fmt;

/// The URL scheme of a connection: plain TCP or TLS, and the default port of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http`: plain TCP, port 80 by default.
    Http,
    /// `https`: TLS over TCP, port 443 by default.
    Https,
}

impl Scheme {
    /// Parses `http` or `https`, ignoring ASCII case.
    ///
    /// ```
    /// use turbohttp::Scheme;
    /// assert_eq!(Scheme::parse("HTTPS"), Some(Scheme::Https));
    /// assert_eq!(Scheme::parse("ftp"), None);
    /// ```
    pub fn parse(scheme: &str) -> Option<Self> {
        if scheme.eq_ignore_ascii_case("http") {
            Some(Self::Http)
        } else if scheme.eq_ignore_ascii_case("https") {
            Some(Self::Https)
        } else {
            None
        }
    }

    /// Whether connections of this scheme run a TLS handshake.
    pub fn uses_tls(self) -> bool {
        self == Self::Https
    }

    /// 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
