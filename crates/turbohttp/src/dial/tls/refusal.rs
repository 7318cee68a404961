//! The refusal sentences: [`HandshakeRefused`] (a handshake refused for a reason on
//! this client's side) and [`CertificateRejected`] (a server certificate that does not
//! verify), each naming the likely cause and what to do.

use std::fmt;

/// A handshake that failed for a reason a person can act on: the server does not speak
/// TLS at all (a plain-HTTP port), shares no cipher suite or key exchange with this
/// client, wants a client certificate, refused ours, or speaks no TLS version this
/// client allows. A sentence that names the likely cause and what to do, with rustls'
/// error kept ([`HandshakeRefused::error`]). Like any handshake IO failure it fails
/// the attempt, not the race.
#[derive(Debug, Clone)]
pub struct HandshakeRefused {
    error: rustls::Error,
}

impl HandshakeRefused {
    /// The sentence for `error`, if it is one of those this type explains.
    pub fn of(error: &rustls::Error) -> Option<Self> {
        use rustls::AlertDescription as A;
        let explained = match error {
            // Bytes that are no TLS record: the peer speaks something else.
            rustls::Error::InvalidMessage(_) => true,
            rustls::Error::AlertReceived(alert) => matches!(
                alert,
                A::HandshakeFailure
                    | A::InsufficientSecurity
                    | A::CertificateRequired
                    | A::BadCertificate
                    | A::UnknownCA
                    | A::CertificateExpired
                    | A::CertificateRevoked
                    | A::UnsupportedCertificate
                    | A::ProtocolVersion
            ),
            // The server chose a version this client does not allow, or did not
            // accept ECH.
            rustls::Error::PeerIncompatible(incompatible) => matches!(
                incompatible,
                rustls::PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                    | rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
                    | rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(_)
            ),
            // An HTTPS record's ECH configuration this client cannot use.
            rustls::Error::InvalidEncryptedClientHello(_) => true,
            _ => false,
        };
        explained.then(|| Self {
            error: error.clone(),
        })
    }

    /// The sentence for an ECH configuration this client cannot use
    /// (`rustls::Error::InvalidEncryptedClientHello`), or a server that did not
    /// accept ECH (`ServerRejectedEncryptedClientHello`).
    pub(crate) fn ech(error: rustls::Error) -> Self {
        Self { error }
    }

    /// rustls' error.
    pub fn error(&self) -> &rustls::Error {
        &self.error
    }
}

impl fmt::Display for HandshakeRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use rustls::AlertDescription as A;
        match &self.error {
            rustls::Error::InvalidMessage(_) => write!(
                f,
                "the server did not answer with TLS ({}): it is probably a plain-HTTP port \
                 (try http://) or another protocol",
                self.error
            ),
            rustls::Error::AlertReceived(A::HandshakeFailure | A::InsufficientSecurity) => {
                write!(
                    f,
                    "the server refused the handshake ({}): it shares no cipher suite or key \
                     exchange with this client, which offers only modern ones (TLS 1.3, and \
                     TLS 1.2 with ECDHE and AEAD ciphers), so its TLS settings must allow one \
                     of them; or it requires a client certificate and none was sent \
                     (--cert, TlsOptions::client_auth)",
                    self.error
                )
            }
            rustls::Error::AlertReceived(A::CertificateRequired) => write!(
                f,
                "the server requires a client certificate and none was sent ({}): pass one \
                 (--cert and --key, TlsOptions::client_auth)",
                self.error
            ),
            rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(None),
            ) => write!(
                f,
                "the server did not accept Encrypted Client Hello and sent no \
                 configuration to retry with ({}): the connection was closed rather than \
                 continued without ECH, which would send the server name in the clear; \
                 the HTTPS record's ech may be stale, or the server does not support ECH",
                self.error
            ),
            rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(Some(_)),
            ) => write!(
                f,
                "the server did not accept Encrypted Client Hello, neither with the HTTPS \
                 record's configuration nor with the one it sent to retry with ({}): the \
                 connection was closed rather than continued without ECH",
                self.error
            ),
            rustls::Error::InvalidEncryptedClientHello(_) => write!(
                f,
                "the HTTPS record's ECH configuration cannot be used ({}): it is malformed \
                 or offers no HPKE suite this client supports, so this endpoint is not \
                 dialed with it",
                self.error
            ),
            rustls::Error::AlertReceived(A::ProtocolVersion)
            | rustls::Error::PeerIncompatible(_) => write!(
                f,
                "the server does not support the TLS versions this client allows ({}): it \
                 may speak only an older version; lower the minimum (--tlsv1.2, \
                 TlsOptions::min_version) if that is acceptable",
                self.error
            ),
            _ => write!(
                f,
                "the server refused this client's certificate ({}): check that it is \
                 issued by a CA the server trusts, valid now and meant for client \
                 authentication (--cert, TlsOptions::client_auth)",
                self.error
            ),
        }
    }
}

/// A name as the certificate lists it: rustls hands them over in webpki's `Debug`
/// form (`DnsName("a.test")`, `IpAddress(192.0.2.1)`), which is not for people.
fn bare_name(presented: &str) -> &str {
    let Some(inner) = presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
    else {
        return presented;
    };
    inner
        .strip_prefix('"')
        .and_then(|quoted| quoted.strip_suffix('"'))
        .unwrap_or(inner)
}

/// The sentence says it all; rustls' error is [`HandshakeRefused::error`].
impl std::error::Error for HandshakeRefused {}

/// The server's certificate did not verify: what is wrong with it, as a sentence, and
/// what to do about it. rustls' own error is kept ([`CertificateRejected::error`]).
#[derive(Debug, Clone)]
pub struct CertificateRejected {
    error: rustls::CertificateError,
}

impl CertificateRejected {
    /// The refusal of `error`.
    pub fn new(error: rustls::CertificateError) -> Self {
        Self { error }
    }

    /// rustls' reason.
    pub fn error(&self) -> &rustls::CertificateError {
        &self.error
    }
}

impl fmt::Display for CertificateRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use rustls::CertificateError as E;
        // rustls' own Display falls back to Debug for most variants, so every variant
        // gets its sentence here: what is wrong, then what to do.
        #[allow(deprecated)] // UnsupportedSignatureAlgorithm: older verifiers still return it
        match &self.error {
            E::BadEncoding => f.write_str(
                "the server's certificate could not be parsed (it is not well-formed DER): \
                 the server is sending a damaged certificate; reinstall it on the server",
            ),
            E::UnknownIssuer => f.write_str(
                "the server's certificate was not issued by a CA this client trusts, or is \
                 self-signed: pass the CA that signed it (--cacert, \
                 TlsOptions::add_roots_from_pem_file); a self-signed server certificate \
                 cannot be trusted directly, so make a CA and a server certificate it signs",
            ),
            E::NotValidForNameContext {
                expected,
                presented,
            } => write!(
                f,
                "the server's certificate is not valid for {} (it names {}): connect by a name \
                 it lists, or verify another name (--servername, TlsOptions::server_name)",
                expected.to_str(),
                if presented.is_empty() {
                    "no name".to_owned()
                } else {
                    presented
                        .iter()
                        .map(|name| bare_name(name))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            E::NotValidForName => f.write_str(
                "the server's certificate is not valid for the name connected to: connect \
                 by a name it lists, or verify another name (--servername, \
                 TlsOptions::server_name)",
            ),
            E::Expired | E::ExpiredContext { .. } => {
                f.write_str("the server's certificate has expired: it must be renewed")
            }
            E::NotValidYet | E::NotValidYetContext { .. } => f.write_str(
                "the server's certificate is not valid yet: check the clocks of both sides",
            ),
            E::Revoked => f.write_str(
                "the server's certificate has been revoked by its CA: the server needs a new \
                 certificate",
            ),
            E::UnhandledCriticalExtension => f.write_str(UNKNOWN_CRITICAL_EXTENSION),
            E::UnknownRevocationStatus => f.write_str(
                "the revocation status of the server's certificate is unknown (no revocation \
                 list given covers its issuer): add its CA's revocation list to the verifier, \
                 or let it allow an unknown status",
            ),
            E::ExpiredRevocationList | E::ExpiredRevocationListContext { .. } => f.write_str(
                "the revocation list that checks the server's certificate has expired: give \
                 the verifier a current one",
            ),
            // Nothing the client can do: the certificate is broken or forged.
            E::BadSignature => {
                f.write_str("the server's certificate has a signature that does not verify")
            }
            E::UnsupportedSignatureAlgorithm
            | E::UnsupportedSignatureAlgorithmContext { .. }
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => f.write_str(
                "the server's certificate is signed with an algorithm this client does not \
                 support: the server needs one signed with ECDSA, Ed25519 or RSA (SHA-256 or \
                 stronger)",
            ),
            E::InvalidPurpose | E::InvalidPurposeContext { .. } => f.write_str(
                "the server's certificate is not meant for TLS servers (its extended key \
                 usage lacks serverAuth): the server needs one issued for serverAuth",
            ),
            E::InvalidOcspResponse => f.write_str(
                "the OCSP response the server stapled to its certificate is invalid: the \
                 server must refresh its stapled response or stop stapling",
            ),
            E::ApplicationVerificationFailure => f.write_str(
                "the server's certificate was refused by the application's own certificate \
                 verifier (TlsOptions::rustls_config): it is not a certificate that verifier \
                 accepts, for instance not the pinned one",
            ),
            E::Other(other) => write_other(f, &*other.0),
            _ => f.write_str(
                "the server's certificate was refused, for a reason this version of the \
                 client cannot describe",
            ),
        }
    }
}

const UNKNOWN_CRITICAL_EXTENSION: &str = "the server's certificate has a critical extension \
     this client does not understand, so it may not be trusted: the server needs a \
     certificate without it, or with it marked non-critical";

/// The refusals rustls passes on inside `CertificateError::Other`: webpki's own errors
/// (whose Display is their Debug name) get a sentence; a caller's verifier's error is
/// shown by its Display.
#[allow(deprecated)] // RequiredEkuNotFound: rustls maps it itself, but keep the sentence
fn write_other(
    f: &mut fmt::Formatter<'_>,
    error: &(dyn std::error::Error + Send + Sync + 'static),
) -> fmt::Result {
    use webpki::Error as W;
    let Some(webpki) = error.downcast_ref::<W>() else {
        return write!(f, "the server's certificate was refused: {error}");
    };
    f.write_str(match webpki {
        W::CaUsedAsEndEntity => {
            "the server's certificate is a CA certificate (basicConstraints CA:TRUE, as \
             `openssl req -x509` makes by default), which a server may not present: make a \
             CA, then a server certificate it signs with CA:FALSE, serve that and pass the CA \
             with --cacert"
        }
        W::EndEntityUsedAsCa => {
            "a certificate in the server's chain signs another but is not a CA certificate \
             (basicConstraints CA:FALSE): the server's certificate must be issued by a CA \
             certificate"
        }
        W::CertDistrusted => {
            "the server's certificate, or one of its issuers, is no longer trusted for \
             certificates issued at that time: the server needs a certificate from another CA"
        }
        W::PathLenConstraintViolated => {
            "the server's certificate chain is longer than a CA in it allows \
             (pathLenConstraint): the server needs a certificate from a CA allowed to issue it"
        }
        W::NameConstraintViolation => {
            "the server's certificate names a host its CA is not allowed to certify (name \
             constraints): the server needs a certificate from a CA allowed that name"
        }
        W::UnsupportedCriticalExtension => UNKNOWN_CRITICAL_EXTENSION,
        W::EmptyEkuExtension | W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) => {
            "the server's certificate is not meant for TLS servers (its extended key usage \
             lacks serverAuth): the server needs one issued for serverAuth"
        }
        W::MaximumPathBuildCallsExceeded
        | W::MaximumPathDepthExceeded
        | W::MaximumSignatureChecksExceeded
        | W::MaximumNameConstraintComparisonsExceeded => {
            "the server's certificate chain could not be verified within this client's \
             limits (too many certificates, signatures or name constraints to check): the \
             server should send only its certificate and the intermediates to a root"
        }
        W::InvalidCrlNumber
        | W::UnsupportedCrlIssuingDistributionPoint
        | W::UnsupportedCrlVersion
        | W::UnsupportedDeltaCrl
        | W::UnsupportedIndirectCrl
        | W::UnsupportedRevocationReason
        | W::UnsupportedRevocationReasonsPartitioning
        | W::IssuerNotCrlSigner
        | W::CrlExpired { .. } => {
            "a revocation list given to check the server's certificate is expired, malformed \
             or of a kind this client does not support: give the verifier a current, complete \
             revocation list from the CA"
        }
        _ => {
            "the server's certificate is malformed or uses a form this client does not \
             support (an unknown version, a malformed extension or name): the server needs \
             a well-formed X.509 v3 certificate"
        }
    })
}

/// The sentence says it all; rustls' reason is [`CertificateRejected::error`].
impl std::error::Error for CertificateRejected {}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::{CertificateError as E, ExtendedKeyPurpose, OtherError};

    use super::{CertificateRejected, bare_name};

    #[test]
    fn listed_names_lose_webpkis_debug_wrapping() {
        assert_eq!(bare_name(r#"DnsName("other.test")"#), "other.test");
        assert_eq!(bare_name("IpAddress(192.0.2.1)"), "192.0.2.1");
        assert_eq!(bare_name("IpAddress(::1)"), "::1");
        // Anything else is shown as rustls gave it.
        assert_eq!(bare_name("plain.test"), "plain.test");
        assert_eq!(bare_name("Odd(unclosed"), "Odd(unclosed");
    }

    fn other(error: impl std::error::Error + Send + Sync + 'static) -> E {
        E::Other(OtherError(Arc::new(error)))
    }

    /// A refusal's sentence, checked for Debug artefacts: braces, or a parenthesis
    /// right after a word (`Other(`, `DnsName(`), which prose never has.
    fn sentence(error: E) -> String {
        let text = CertificateRejected::new(error.clone()).to_string();
        let debug_call = text
            .as_bytes()
            .windows(2)
            .any(|w| w[1] == b'(' && w[0].is_ascii_alphanumeric());
        assert!(
            !text.contains('{') && !debug_call,
            "{error:?} reads as Debug: {text}"
        );
        // What to do follows a colon; a forged signature leaves the client nothing.
        assert!(
            text.contains(": ") || error == E::BadSignature,
            "{error:?} says nothing to do: {text}"
        );
        text
    }

    #[test]
    #[allow(deprecated)]
    fn every_certificate_refusal_is_a_sentence() {
        let time = UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_000));
        let table: Vec<(E, &str)> = vec![
            (E::BadEncoding, "could not be parsed"),
            (E::Expired, "has expired"),
            (
                E::ExpiredContext {
                    time,
                    not_after: time,
                },
                "has expired",
            ),
            (E::NotValidYet, "not valid yet"),
            (
                E::NotValidYetContext {
                    time,
                    not_before: time,
                },
                "not valid yet",
            ),
            (E::Revoked, "has been revoked"),
            (E::UnhandledCriticalExtension, "critical extension"),
            (E::UnknownIssuer, "not issued by a CA this client trusts"),
            (E::UnknownRevocationStatus, "revocation status"),
            (E::ExpiredRevocationList, "revocation list"),
            (
                E::ExpiredRevocationListContext {
                    time,
                    next_update: time,
                },
                "revocation list",
            ),
            (E::BadSignature, "signature that does not verify"),
            (E::UnsupportedSignatureAlgorithm, "algorithm"),
            (
                E::UnsupportedSignatureAlgorithmContext {
                    signature_algorithm_id: vec![1, 2],
                    supported_algorithms: Vec::new(),
                },
                "algorithm",
            ),
            (
                E::UnsupportedSignatureAlgorithmForPublicKeyContext {
                    signature_algorithm_id: vec![1],
                    public_key_algorithm_id: vec![2],
                },
                "algorithm",
            ),
            (E::NotValidForName, "not valid for the name"),
            (
                E::NotValidForNameContext {
                    expected: ServerName::try_from("a.test").unwrap(),
                    presented: vec![r#"DnsName("b.test")"#.to_owned()],
                },
                "not valid for a.test (it names b.test)",
            ),
            (E::InvalidPurpose, "serverAuth"),
            (
                E::InvalidPurposeContext {
                    required: ExtendedKeyPurpose::ServerAuth,
                    presented: vec![ExtendedKeyPurpose::ClientAuth],
                },
                "serverAuth",
            ),
            (E::InvalidOcspResponse, "OCSP"),
            (
                E::ApplicationVerificationFailure,
                "own certificate verifier",
            ),
            (
                other(webpki::Error::CaUsedAsEndEntity),
                "is a CA certificate",
            ),
            (
                other(webpki::Error::EndEntityUsedAsCa),
                "not a CA certificate",
            ),
            (other(webpki::Error::CertDistrusted), "no longer trusted"),
            (
                other(webpki::Error::PathLenConstraintViolated),
                "pathLenConstraint",
            ),
            (
                other(webpki::Error::NameConstraintViolation),
                "name constraints",
            ),
            (
                other(webpki::Error::UnsupportedCriticalExtension),
                "critical extension",
            ),
            (other(webpki::Error::EmptyEkuExtension), "serverAuth"),
            (other(webpki::Error::MaximumPathDepthExceeded), "limits"),
            (other(webpki::Error::UnsupportedDeltaCrl), "revocation list"),
            (other(webpki::Error::MalformedExtensions), "malformed"),
            (other(webpki::Error::UnsupportedCertVersion), "malformed"),
            // A caller's verifier's own error: its Display, never its Debug.
            (
                other(std::io::Error::other(
                    "not on the allow list: call the admin",
                )),
                "refused: not on the allow list",
            ),
        ];
        for (error, expected) in table {
            let text = sentence(error.clone());
            assert!(text.contains(expected), "{error:?}: {text}");
            assert!(
                text.starts_with("the server's certificate")
                    || text.starts_with("the revocation")
                    || text.starts_with("the OCSP")
                    || text.starts_with("a "),
                "{text}"
            );
        }
    }
}
