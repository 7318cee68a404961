//! TLS with rustls (aws-lc-rs or ring, [`crypto_provider`]): [`TlsOptions`] (roots: webpki, the platform's,
//! extra; client certificates; minimum version; or a caller's whole `ClientConfig`,
//! as hyper-rustls takes one), the client configuration made from them, and
//! [`TlsHandshake`], the per-attempt setup step of the race.
//!
//! The handshake runs inside each attempt, so an attempt counts as won only when its
//! handshake completes, and the race's per-attempt budget and global deadline bound it.
//! How its failures end:
//!
//! * an IO error (reset, EOF, a TLS alert from the peer) is a failed attempt
//!   ([`AttemptError::setup`]): another address may serve TLS fine; the alerts with a
//!   likely cause in this client's settings (a client certificate required or
//!   refused, no TLS version in common) read as a [`HandshakeRefused`] sentence;
//! * a certificate that does not verify (`rustls::Error::InvalidCertificate`: unknown
//!   issuer, wrong name, expired…) stops the race ([`AttemptError::terminal`]) under
//!   the default [`TlsFailurePolicy::StopRace`]: every address of a name is expected to
//!   present the same certificate, so trying others only delays the error.

mod config;
mod handshake;
mod options;
mod refusal;

pub use config::{TlsConfigError, crypto_provider, server_name_of};
pub use handshake::TlsHandshake;
pub(crate) use handshake::{Handshake, classify_handshake_error};
pub use options::{
    ALPN_H2, ALPN_HTTP_1_1, ClientCertificate, PemError, TlsFailurePolicy, TlsOptions, TlsVersion,
};
pub use refusal::{CertificateRejected, HandshakeRefused};
