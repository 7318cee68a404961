//! [`QuicRefused`]: a failed QUIC handshake as a sentence, and which failures end
//! the attempt or the race (the same policy as TCP's TLS).

use std::fmt;
use std::io;
use std::sync::Arc;

use quinn::{ConnectionError, TransportErrorCode};
use turbohttp_proto::AttemptError;

use crate::dial::tls::{CertificateRejected, HandshakeRefused, TlsFailurePolicy};

/// A QUIC handshake that failed: what happened, as a sentence (the server refused
/// or closed it, it reset it, the client's TLS refused the server's handshake).
/// A certificate that does not verify is a [`CertificateRejected`] instead, as over
/// TCP.
#[derive(Debug, Clone)]
pub struct QuicRefused {
    sentence: String,
    /// The QUIC transport error code the connection was closed with, if any.
    code: Option<u64>,
}

impl QuicRefused {
    fn new(sentence: impl Into<String>, code: Option<u64>) -> Self {
        Self {
            sentence: sentence.into(),
            code,
        }
    }

    /// The QUIC transport error code (RFC 9000 §20.1; `0x0100 + alert` for TLS) the
    /// connection was closed with, if it was closed with one.
    pub fn code(&self) -> Option<u64> {
        self.code
    }

    /// Why the server closed a QUIC connection, when it did so with a TLS alert that
    /// this client's settings likely caused (a client certificate it requires, no
    /// TLS version in common): the sentence TCP's TLS gives. Under TLS 1.3 a server
    /// judges the client's certificate after the client's side of the handshake is
    /// done, so this shows on the first request rather than in the race.
    pub fn tls_refusal(error: &quinn::ConnectionError) -> Option<HandshakeRefused> {
        match error {
            ConnectionError::ConnectionClosed(close) => {
                tls_alert(close.error_code.into()).and_then(tls_refusal)
            }
            _ => None,
        }
    }

    /// ECH was required (every HTTPS record of the origin has an `ech`) and this
    /// client does not offer it over QUIC: no attempt is made without it.
    pub(crate) fn no_ech() -> Self {
        Self::new(
            "the origin requires Encrypted Client Hello and this client does not offer it \
             over QUIC (rustls offers ECH over TCP only), so no QUIC attempt was made",
            None,
        )
    }
}

impl fmt::Display for QuicRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence)
    }
}

impl std::error::Error for QuicRefused {}

/// The attempt's error for a QUIC handshake that ended with `error`: a certificate
/// this client rejected is terminal under [`TlsFailurePolicy::StopRace`], as over
/// TCP; no answer is a failed connect; everything else a failed setup.
pub(crate) fn classify(error: ConnectionError, policy: TlsFailurePolicy) -> AttemptError {
    use ConnectionError as E;
    let refused = |sentence: String, code| {
        io::Error::new(
            io::ErrorKind::ConnectionRefused,
            QuicRefused::new(sentence, code),
        )
    };
    match error {
        E::TimedOut => AttemptError::connect(io::Error::new(
            io::ErrorKind::TimedOut,
            QuicRefused::new(
                "the QUIC handshake got no answer (UDP blocked or lost?)",
                None,
            ),
        )),
        E::ConnectionClosed(close)
            if close.error_code == TransportErrorCode::CONNECTION_REFUSED =>
        {
            AttemptError::connect(refused(
                "the server refused the QUIC connection (CONNECTION_REFUSED)".into(),
                Some(close.error_code.into()),
            ))
        }
        E::ConnectionClosed(close) => {
            let code: u64 = close.error_code.into();
            // A TLS alert this client's settings likely caused (a client certificate
            // required, no version in common): the sentence TCP's TLS gives.
            if let Some(refused) = tls_alert(code).and_then(tls_refusal) {
                return AttemptError::setup(io::Error::new(io::ErrorKind::InvalidData, refused));
            }
            let reason = String::from_utf8_lossy(&close.reason);
            let sentence = match tls_alert(code) {
                Some(alert) => format!(
                    "the server ended the QUIC handshake with TLS alert {alert}{}",
                    detail(&reason)
                ),
                None => format!(
                    "the server closed the QUIC connection during the handshake ({}){}",
                    close.error_code,
                    detail(&reason)
                ),
            };
            AttemptError::setup(refused(sentence, Some(code)))
        }
        E::ApplicationClosed(close) => AttemptError::setup(refused(
            format!(
                "the server closed the QUIC connection during the handshake (application \
                 code {}){}",
                close.error_code,
                detail(&String::from_utf8_lossy(&close.reason))
            ),
            None,
        )),
        E::Reset => AttemptError::connect(io::Error::new(
            io::ErrorKind::ConnectionReset,
            QuicRefused::new(
                "the server reset the QUIC connection (stateless reset)",
                None,
            ),
        )),
        E::VersionMismatch => AttemptError::setup(refused(
            "the server speaks no QUIC version this client does (version 1)".into(),
            None,
        )),
        E::TransportError(local) => {
            let code: u64 = local.code.into();
            if let Some(certificate) = certificate_error(code, &local.reason) {
                let error = io::Error::new(
                    io::ErrorKind::InvalidData,
                    CertificateRejected::new(certificate),
                );
                return match policy {
                    TlsFailurePolicy::StopRace => AttemptError::terminal(error),
                    _ => AttemptError::setup(error),
                };
            }
            AttemptError::setup(io::Error::new(
                io::ErrorKind::InvalidData,
                QuicRefused::new(
                    format!("the QUIC handshake failed here: {}", local.reason),
                    Some(code),
                ),
            ))
        }
        other => AttemptError::setup(io::Error::other(QuicRefused::new(
            format!("the QUIC handshake failed: {other}"),
            None,
        ))),
    }
}

/// The refusal sentence of a TLS alert the server sent, as over TCP, when it is one
/// [`HandshakeRefused`] explains.
fn tls_refusal(alert: u8) -> Option<HandshakeRefused> {
    HandshakeRefused::of(&rustls::Error::AlertReceived(alert.into()))
}

/// The TLS alert of a QUIC CRYPTO_ERROR code (0x0100 to 0x01ff).
fn tls_alert(code: u64) -> Option<u8> {
    (0x100..0x200).contains(&code).then(|| (code - 0x100) as u8)
}

fn detail(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

/// The certificate error a handshake this client's TLS ended holds: quinn keeps
/// rustls' error only as the alert it sent and its text ("invalid peer certificate:
/// ..."), so the alert says which.
fn certificate_error(code: u64, reason: &str) -> Option<rustls::CertificateError> {
    use rustls::CertificateError as C;
    const BAD_CERTIFICATE: u8 = 42;
    const CERTIFICATE_REVOKED: u8 = 44;
    const CERTIFICATE_EXPIRED: u8 = 45;
    const UNKNOWN_CA: u8 = 48;
    if !reason.starts_with("invalid peer certificate") {
        return None;
    }
    Some(match tls_alert(code)? {
        UNKNOWN_CA => C::UnknownIssuer,
        CERTIFICATE_EXPIRED => C::Expired,
        CERTIFICATE_REVOKED => C::Revoked,
        BAD_CERTIFICATE if reason.contains("NotValidForName") => C::NotValidForName,
        _ => C::Other(rustls::OtherError(Arc::new(io::Error::other(
            reason.to_owned(),
        )))),
    })
}
