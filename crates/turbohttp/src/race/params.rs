//! [`ConnectParams`]: what may differ from one connect to the next.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use turbohttp_proto::AddressFamily;
use turbohttp_proto::alt_svc::AltService;
use turbohttp_proto::service::Protocols;

/// What may differ from one connect to the next: a family restriction, a timeout and
/// a cancellation token. The default restricts nothing, takes the connector's timeout
/// and has no token (dropping the future cancels just as completely).
///
/// ```
/// use std::time::Duration;
/// use turbohttp::{AddressFamily, CancellationToken, ConnectParams};
///
/// let cancel = CancellationToken::new();
/// let params = ConnectParams::default()
///     .with_family(AddressFamily::V4)
///     .with_timeout(Duration::from_secs(2))
///     .with_cancel(cancel.clone());
/// assert_eq!(params.family, Some(AddressFamily::V4));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConnectParams {
    /// Dial only this family (`-4`/`-6`). Default `None`: both.
    pub family: Option<AddressFamily>,
    /// Bounds this whole connect instead of the connector's timeout. Default `None`.
    pub timeout: Option<Duration>,
    /// Cancelling it stops every attempt. Default `None`.
    pub cancel: Option<CancellationToken>,
    /// Ask the origin's HTTPS record (RFC 9460) with its AAAA and A queries, for a
    /// caller that speaks these protocols (an https origin; the TLS ALPN list): the
    /// record's port, protocols and hints then shape the race
    /// (draft-ietf-happy-happyeyeballs-v3). Asked only of a resolver that
    /// [asks for them](crate::Resolver::asks_services). Default `None`: not asked.
    pub services: Option<Protocols>,
    /// The seed that orders HTTPS records of equal priority (RFC 9460 asks for a
    /// random order among them). Default `None`: a new random seed per connect; a
    /// test, or `simulate`, fixes it to get the same order every time.
    pub shuffle_seed: Option<u64>,
    /// The origin's live Alt-Svc alternatives (RFC 7838), in its order of preference
    /// (from an earlier response's `Alt-Svc` header: [`parse_alt_svc`](crate::parse_alt_svc);
    /// expired ones left out by the caller). They are dialed first, the origin's own
    /// addresses last; TLS still checks the origin's name. Not used for an IP-literal
    /// origin. Default: none.
    pub alt_svc: Vec<AltService>,
    /// Whether HTTP/3 over QUIC races TCP (draft-ietf-happy-happyeyeballs-v3 §6), for
    /// a dialer that [dials QUIC](crate::Dialer::dials_quic); ignored by any other
    /// (hyper's `Service<Uri>` among them: hyper speaks no HTTP/3). Default
    /// [`Http3::Off`].
    pub http3: Http3,
}

/// Whether a connect races HTTP/3 over QUIC against TCP, and where
/// ([`ConnectParams::http3`]). QUIC goes first and TCP one attempt delay later (at
/// once if QUIC fails fast); an origin whose QUIC got no answer while TCP won is
/// remembered and raced over TCP alone for a while (the core's rules:
/// [`turbohttp_proto`], "QUIC raced against TCP").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Http3 {
    /// TCP only: `h3` in HTTPS records and Alt-Svc is skipped.
    #[default]
    Off,
    /// QUIC where the origin advertises `h3` (its HTTPS record, an Alt-Svc entry).
    Advertised,
    /// As [`Advertised`](Self::Advertised), and the origin's own addresses and port
    /// over QUIC too, ahead of TCP (curl's `--http3`).
    Also,
    /// QUIC only (curl's `--http3-only`): nothing is dialed over TCP.
    Only,
}

impl ConnectParams {
    /// Sets [`family`](Self::family); `None` lifts the restriction.
    #[must_use]
    pub fn with_family(mut self, family: impl Into<Option<AddressFamily>>) -> Self {
        self.family = family.into();
        self
    }

    /// Sets [`timeout`](Self::timeout).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets [`services`](Self::services): ask the HTTPS record, for a caller that
    /// speaks `protocols`.
    #[must_use]
    pub fn with_services(mut self, protocols: Protocols) -> Self {
        self.services = Some(protocols);
        self
    }

    /// Sets [`shuffle_seed`](Self::shuffle_seed).
    #[must_use]
    pub fn with_shuffle_seed(mut self, seed: u64) -> Self {
        self.shuffle_seed = Some(seed);
        self
    }

    /// Sets [`alt_svc`](Self::alt_svc).
    #[must_use]
    pub fn with_alt_svc(mut self, alternatives: impl IntoIterator<Item = AltService>) -> Self {
        self.alt_svc = alternatives.into_iter().collect();
        self
    }

    /// Sets [`http3`](Self::http3).
    #[must_use]
    pub fn with_http3(mut self, http3: Http3) -> Self {
        self.http3 = http3;
        self
    }

    /// Sets [`cancel`](Self::cancel).
    #[must_use]
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = Some(cancel);
        self
    }
}
