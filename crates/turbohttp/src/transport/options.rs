//! [`TransportOptions`]: everything that shapes a [`RawSocketTransport`]'s connections,
//! and [`TransportOptionsError`], why a set of them was refused.
//!
//! [`RawSocketTransport`]: super::RawSocketTransport

use std::net::IpAddr;
use std::time::Duration;

use crate::dial::{SocketOptions, SocketOptionsError, TlsConfigError, TlsOptions};
use crate::race::DEFAULT_CONNECT_TIMEOUT;
use turbohttp_proto::{AddressFamily, HappyEyeballsOptions, OptionsError};

/// How a [`RawSocketTransport`](crate::RawSocketTransport) connects.
///
/// ```
/// use std::time::Duration;
/// use turbohttp::AddressFamily;
/// use turbohttp::{SocketOptions, TransportOptions};
///
/// let mut options = TransportOptions::default()
///     .with_connect_timeout(Duration::from_secs(5))
///     .with_family(AddressFamily::V4)
///     .with_socket(SocketOptions::default().with_keepalive(None));
/// assert!(options.validate().is_ok());
///
/// options.socket.keepalive = Some(Duration::ZERO);
/// assert_eq!(
///     options.validate().unwrap_err().to_string(),
///     "the TCP keepalive time is zero; use None to turn keepalive off",
/// );
/// ```
///
/// `#[non_exhaustive]`, like every option struct here: start from
/// [`default`](Self::default) and use the `with_*` setters or assign fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportOptions {
    /// Bounds one whole connect: resolution, every attempt and every TLS handshake.
    /// Default [`DEFAULT_CONNECT_TIMEOUT`] (30 s).
    pub connect_timeout: Duration,
    /// How IPv6 and IPv4 are raced.
    pub happy_eyeballs: HappyEyeballsOptions,
    /// Dial only this family (curl's `-4` / `-6`), on every connect that does not ask
    /// for one itself, the `Service<Uri>` path included. A connect that asks for the
    /// other family is refused as invalid input rather than silently widened or
    /// narrowed to nothing. Default `None`: both families.
    pub family: Option<AddressFamily>,
    /// The options set on every socket, on every path of the race. A local address of
    /// one family only restricts the race to that family (see [`SocketOptions`]).
    pub socket: SocketOptions,
    /// TLS settings, used for `https` connections.
    pub tls: TlsOptions,
    /// For `https`, ask the origin's HTTPS record (RFC 9460) with its AAAA and A
    /// queries, when the resolver asks DNS ([`Resolver::asks_services`]): its port,
    /// protocols (offered in ALPN) and hints shape the race
    /// (draft-ietf-happy-happyeyeballs-v3). Default `true`; curl's `--no-https-rr`
    /// is `false`.
    ///
    /// [`Resolver::asks_services`]: crate::Resolver::asks_services
    pub https_records: bool,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            happy_eyeballs: HappyEyeballsOptions::default(),
            family: None,
            socket: SocketOptions::default(),
            tls: TlsOptions::default(),
            https_records: true,
        }
    }
}

impl TransportOptions {
    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use]
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// Sets [`happy_eyeballs`](Self::happy_eyeballs).
    #[must_use]
    pub fn with_happy_eyeballs(mut self, happy_eyeballs: HappyEyeballsOptions) -> Self {
        self.happy_eyeballs = happy_eyeballs;
        self
    }

    /// Sets [`family`](Self::family); `None` lifts the restriction.
    #[must_use]
    pub fn with_family(mut self, family: impl Into<Option<AddressFamily>>) -> Self {
        self.family = family.into();
        self
    }

    /// Sets [`socket`](Self::socket).
    #[must_use]
    pub fn with_socket(mut self, socket: SocketOptions) -> Self {
        self.socket = socket;
        self
    }

    /// Sets [`tls`](Self::tls).
    #[must_use]
    pub fn with_tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// Sets [`https_records`](Self::https_records).
    #[must_use]
    pub fn with_https_records(mut self, https_records: bool) -> Self {
        self.https_records = https_records;
        self
    }

    /// Checks every option; [`RawSocketTransport::new`](crate::RawSocketTransport::new)
    /// does this (and builds the TLS configuration) before any socket is opened.
    pub fn validate(&self) -> Result<(), TransportOptionsError> {
        self.validate_except_tls()?;
        Ok(self.tls.validate()?)
    }

    /// Every check but the TLS configuration's, for callers that build it next anyway.
    pub(crate) fn validate_except_tls(&self) -> Result<(), TransportOptionsError> {
        self.happy_eyeballs
            .validate_with_timeout(self.connect_timeout)?;
        self.socket.validate()?;
        if let (Some(family), Some(local_family)) =
            (self.family, self.socket.local_address_family())
            && family != local_family
        {
            return Err(TransportOptionsError::FamilyWithoutLocalAddress {
                family,
                local: self
                    .socket
                    .local_address(local_family)
                    .expect("the family of the one local address"),
            });
        }
        Ok(())
    }

    /// The one family connects dial when they ask for none: [`family`](Self::family),
    /// else the family of the only local address, else `None` (both).
    pub fn dial_family(&self) -> Option<AddressFamily> {
        self.family.or(self.socket.local_address_family())
    }
}

/// Why a set of [`TransportOptions`] was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportOptionsError {
    /// The Happy Eyeballs options, or the connect timeout, cannot be used.
    #[error(transparent)]
    HappyEyeballs(#[from] OptionsError),
    /// A socket option cannot be used.
    #[error(transparent)]
    Socket(#[from] SocketOptionsError),
    /// The transport is restricted to one family, but the only local address is of
    /// the other, so nothing could be dialed.
    #[error(
        "the transport dials {family} only, but its only local address, {local}, is {}; \
         set a local address of {family} or drop the restriction",
        family.other()
    )]
    FamilyWithoutLocalAddress {
        /// The family of [`TransportOptions::family`].
        family: AddressFamily,
        /// The local address, of the other family.
        local: IpAddr,
    },
    /// The TLS options cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsConfigError),
}
