//! QUIC in the race, as plain data: what the caller can dial ([`QuicPolicy`]). The
//! rules are in the [crate docs](crate) ("QUIC raced against TCP").

/// How a race may dial QUIC ([`Race::with_quic`](crate::race::Race::with_quic)).
///
/// The protocols the caller speaks ([`Race::with_services`], `caller`) say the rest:
/// with `h3` among them, `h3` in a used HTTPS record or Alt-Svc alternative becomes
/// QUIC endpoints; with `h3` alone (curl's `--http3-only`), nothing is dialed over TCP
/// and the origin's own addresses are QUIC endpoints.
///
/// [`Race::with_services`]: crate::race::Race::with_services
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct QuicPolicy {
    /// Try HTTP/3 at the origin's own addresses and port too, ahead of TCP (curl's
    /// `--http3`), without a record or alternative that says so.
    pub origin: bool,
    /// QUIC to this origin is remembered broken (by the caller): while TCP can stand
    /// in, no QUIC endpoint is planned.
    pub remembered_broken: bool,
}

impl QuicPolicy {
    /// QUIC where a record or an alternative offers `h3`; not at the origin unasked,
    /// nothing remembered.
    pub fn new() -> Self {
        Self::default()
    }

    /// With [`QuicPolicy::origin`].
    pub fn with_origin(mut self, origin: bool) -> Self {
        self.origin = origin;
        self
    }

    /// With [`QuicPolicy::remembered_broken`].
    pub fn with_remembered_broken(mut self, broken: bool) -> Self {
        self.remembered_broken = broken;
        self
    }
}
