//! Building the library's [`RawSocketTransport`] from the command line: race settings,
//! `--resolve` entries, socket options (`--interface`, `--keepalive-time`...) and TLS
//! (`--cacert`, `--ca-native`, `--servername`, `--cert`, `--key`, `--tlsv1.2`, `--tlsv1.3`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use turbohttp::{
    AddressFamily, PemError, RawSocketTransport, SocketOptions, SocketOptionsError, TlsConfigError,
    TransportOptions, TransportOptionsError,
};
use turbohttp::{ClientCertificate, TlsOptions, TlsVersion};
use turbohttp::{DefaultResolver, StaticResolver};

use crate::args::SocketArgs;
use crate::exit::CliError;
use crate::options::{RaceConfig, options_error};
use crate::parse::{self, Interface};

/// The transport the commands use: `--resolve` entries in front of DNS (or getaddrinfo).
pub type Transport<R = StaticResolver<DefaultResolver>> = RawSocketTransport<R>;

/// TLS settings from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// `--cacert FILE`: trust only the CA certificates of this PEM file (as curl does,
    /// it replaces the built-in roots).
    pub cacert: Option<PathBuf>,
    /// `--servername NAME`: the name sent as SNI and verified.
    pub servername: Option<String>,
    /// The ALPN protocols to offer; empty for the library's default (`h2`, `http/1.1`).
    pub alpn: Vec<Vec<u8>>,
    /// `--ca-native`: trust the platform's CA store instead of the built-in roots
    /// (curl 8.2's flag); with `--cacert`, both.
    pub ca_native: bool,
    /// `--cert FILE`: the client certificate (PEM) for mutual TLS.
    pub cert: Option<PathBuf>,
    /// `--key FILE`: its private key (PEM); without it, the key is read from `--cert`'s
    /// file, as curl does.
    pub key: Option<PathBuf>,
    /// `--tlsv1.2` / `--tlsv1.3`: the lowest TLS version (curl's meaning).
    pub min_version: Option<TlsVersion>,
    /// `--no-ech`: never offer Encrypted Client Hello.
    pub no_ech: bool,
    /// CA certificates given in code, trusted instead of the built-in roots: the
    /// demo's lab CA.
    pub roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

/// `--tlsv1.3` wins over `--tlsv1.2` (clap keeps only the last of the two).
pub fn min_version(tlsv1_2: bool, tlsv1_3: bool) -> Option<TlsVersion> {
    if tlsv1_3 {
        Some(TlsVersion::Tls13)
    } else if tlsv1_2 {
        Some(TlsVersion::Tls12)
    } else {
        None
    }
}

impl TlsSettings {
    /// The library's TLS options; a `--cacert` that cannot be read is a usage error.
    pub fn tls_options(&self) -> Result<TlsOptions, CliError> {
        let mut tls = TlsOptions::default().with_ech(!self.no_ech);
        tls.server_name.clone_from(&self.servername);
        if !self.alpn.is_empty() {
            tls.alpn_protocols.clone_from(&self.alpn);
        }
        if self.ca_native {
            tls.webpki_roots = false;
            tls.native_roots = true;
        }
        if !self.roots.is_empty() {
            tls.webpki_roots = false;
            tls.extra_roots.extend(self.roots.iter().cloned());
        }
        if let Some(path) = &self.cacert {
            tls.webpki_roots = false;
            tls.add_roots_from_pem_file(path)
                .map_err(|e| cacert_error(path, &e))?;
        }
        if let Some(cert) = &self.cert {
            let key = self.key.as_deref().unwrap_or(cert);
            let client = ClientCertificate::from_pem_files(cert, key).map_err(|e| {
                let flag = match e {
                    PemError::ReadPrivateKey { .. } | PemError::NoPrivateKeyInPem { .. }
                        if self.key.is_some() =>
                    {
                        "--key"
                    }
                    _ => "--cert",
                };
                CliError::usage(flag, e)
            })?;
            tls.client_auth = Some(client);
        }
        tls.min_version = self.min_version;
        Ok(tls)
    }
}

fn cacert_error(path: &Path, error: &PemError) -> CliError {
    match error {
        PemError::ReadRootCertificates { error, .. } => CliError::usage(
            "--cacert",
            format!("cannot read {}: {error}", path.display()),
        ),
        other => CliError::usage("--cacert", other),
    }
}

/// The socket options of `--interface`, `--keepalive-time`, `--keepalive-cnt` and
/// `--no-keepalive`, checked: every refused value is a usage error naming its flag.
pub fn socket_options(args: &SocketArgs) -> Result<SocketOptions, CliError> {
    let mut socket = SocketOptions::default();
    for text in &args.interface {
        match parse::interface(text).map_err(|e| CliError::usage("--interface", e))? {
            Interface::Name(name) => {
                if let Some(first) = &socket.interface {
                    return Err(CliError::usage(
                        "--interface",
                        format!(
                            "two interface names, {first:?} and {name:?}: a connection leaves \
                             from one"
                        ),
                    ));
                }
                socket.interface = Some(name);
            }
            Interface::Address(address) => {
                let family = AddressFamily::of_ip(&address);
                if let Some(first) = socket.local_address(family) {
                    return Err(CliError::usage(
                        "--interface",
                        format!(
                            "two {family} addresses, {first} and {address}: give at most one \
                             per family"
                        ),
                    ));
                }
                socket = socket.with_local_address(address);
            }
        }
    }
    if args.no_keepalive {
        socket.keepalive = None;
    }
    if let Some(text) = &args.keepalive_time {
        let seconds = parse::count(text).map_err(|e| CliError::usage("--keepalive-time", e))?;
        // curl's --keepalive-time sets both the idle time and the probe interval.
        let time = Duration::from_secs(u64::try_from(seconds).unwrap_or(u64::MAX));
        socket.keepalive = Some(time);
        socket.keepalive_interval = Some(time);
    }
    if let Some(text) = &args.keepalive_cnt {
        let count = parse::count(text).map_err(|e| CliError::usage("--keepalive-cnt", e))?;
        socket.keepalive_retries = Some(u32::try_from(count).unwrap_or(u32::MAX));
    }
    socket.validate().map_err(socket_error)?;
    Ok(socket)
}

/// The library's verdict on the socket options, as a usage error naming the flag.
fn socket_error(error: SocketOptionsError) -> CliError {
    match error {
        SocketOptionsError::ZeroKeepalive | SocketOptionsError::ZeroKeepaliveInterval => {
            CliError::usage(
                "--keepalive-time",
                "0 would probe continuously; use --no-keepalive to turn keepalive off",
            )
        }
        SocketOptionsError::KeepaliveOutOfRange { value, .. } => CliError::usage(
            "--keepalive-time",
            format!(
                "{} is above the system's limit of 32767 seconds",
                value.as_secs()
            ),
        ),
        SocketOptionsError::ZeroKeepaliveRetries => CliError::usage(
            "--keepalive-cnt",
            "0 would close a connection at its first probe; give 1 or more",
        ),
        e @ SocketOptionsError::KeepaliveRetriesTooHigh { .. } => {
            CliError::usage("--keepalive-cnt", e)
        }
        e @ (SocketOptionsError::InvalidInterface { .. }
        | SocketOptionsError::Unsupported { .. }) => CliError::usage("--interface", e),
        other => CliError::usage("options", other),
    }
}

/// A transport with these settings; every refused option is a usage error naming its
/// flag.
pub fn build<R>(
    config: &RaceConfig,
    tls: &TlsSettings,
    socket: &SocketOptions,
    resolver: R,
) -> Result<Transport<R>, CliError> {
    let mut options = TransportOptions::default();
    options.connect_timeout = config.connect_timeout;
    options.happy_eyeballs = config.options;
    options.family = config.family;
    options.https_records = config.https_records;
    options.socket = socket.clone();
    options.tls = tls.tls_options()?;
    RawSocketTransport::new_with_resolver(options, resolver).map_err(|e| match e {
        TransportOptionsError::HappyEyeballs(e) => options_error(e),
        TransportOptionsError::Socket(e) => socket_error(e),
        TransportOptionsError::FamilyWithoutLocalAddress { family, local } => CliError::usage(
            "--interface",
            format!(
                "{local} is {}, but only {family} may be dialed ({}); give an {family} address \
                 too",
                family.other(),
                match family {
                    AddressFamily::V4 => "-4",
                    AddressFamily::V6 => "-6",
                }
            ),
        ),
        TransportOptionsError::Tls(e) => tls_error(e),
        other => CliError::usage("options", other),
    })
}

/// A TLS configuration error as a usage error naming the flag behind it.
fn tls_error(error: TlsConfigError) -> CliError {
    match error {
        TlsConfigError::InvalidServerName { name } => CliError::usage(
            "--servername",
            format!("{name:?} is neither a valid DNS name nor an IP address"),
        ),
        e
        @ (TlsConfigError::InvalidRootCertificate { .. } | TlsConfigError::NoRootCertificates) => {
            CliError::usage("--cacert", e)
        }
        e @ TlsConfigError::NoNativeRoots { .. } => CliError::usage("--ca-native", e),
        e @ TlsConfigError::ClientKeyMismatch => CliError::usage("--key", e),
        e @ (TlsConfigError::InvalidClientCertificate { .. }
        | TlsConfigError::EmptyClientCertificateChain) => CliError::usage("--cert", e),
        other => CliError::usage("options", other),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    use turbohttp::SocketOptions;

    use super::socket_options;
    use crate::args::SocketArgs;
    use crate::exit::USAGE;

    const V4: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
    const V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7);

    /// The arguments of `--interface` flags (in order) and the keepalive flags.
    fn args(
        interface: &[&str],
        keepalive_time: Option<&str>,
        keepalive_cnt: Option<&str>,
        no_keepalive: bool,
    ) -> SocketArgs {
        SocketArgs {
            interface: interface.iter().map(|&s| s.to_owned()).collect(),
            keepalive_time: keepalive_time.map(str::to_owned),
            keepalive_cnt: keepalive_cnt.map(str::to_owned),
            no_keepalive,
        }
    }

    fn keepalive(time: Option<&str>, cnt: Option<&str>, off: bool) -> SocketOptions {
        socket_options(&args(&[], time, cnt, off)).expect("valid flags")
    }

    #[test]
    fn no_flags_give_the_librarys_defaults() {
        assert_eq!(keepalive(None, None, false), SocketOptions::default());
    }

    /// curl's `--keepalive-time` sets the idle time and the probe interval both.
    #[test]
    fn keepalive_time_sets_the_idle_time_and_the_interval() {
        let options = keepalive(Some("30"), None, false);
        assert_eq!(options.keepalive, Some(Duration::from_secs(30)));
        assert_eq!(options.keepalive_interval, Some(Duration::from_secs(30)));
        assert_eq!(options.keepalive_retries, None);
        assert_eq!(
            options,
            SocketOptions::default()
                .with_keepalive(Some(Duration::from_secs(30)))
                .with_keepalive_interval(Duration::from_secs(30))
        );
    }

    #[test]
    fn keepalive_cnt_sets_the_retries_and_keeps_the_default_times() {
        let options = keepalive(None, Some("4"), false);
        assert_eq!(options.keepalive_retries, Some(4));
        assert_eq!(
            options,
            SocketOptions::default().with_keepalive_retries(4),
            "the 60 s idle time and interval stay"
        );

        let both = keepalive(Some("30"), Some("4"), false);
        assert_eq!(
            both,
            SocketOptions::default()
                .with_keepalive(Some(Duration::from_secs(30)))
                .with_keepalive_interval(Duration::from_secs(30))
                .with_keepalive_retries(4)
        );
    }

    #[test]
    fn no_keepalive_turns_keepalive_off() {
        let options = keepalive(None, None, true);
        assert_eq!(options.keepalive, None);
        assert_eq!(options, SocketOptions::default().with_keepalive(None));
    }

    /// Addresses, bare, bracketed or as `host!`, set the local address of their family.
    #[test]
    fn interface_addresses_set_each_familys_local_address() {
        let cases: &[(&[&str], SocketOptions)] = &[
            (
                &["127.0.0.2"],
                SocketOptions::default().with_local_address_v4(V4),
            ),
            (
                &["host!127.0.0.2"],
                SocketOptions::default().with_local_address_v4(V4),
            ),
            (
                &["[2001:db8::7]"],
                SocketOptions::default().with_local_address_v6(V6),
            ),
            (
                &["host!2001:db8::7", "127.0.0.2"],
                SocketOptions::default()
                    .with_local_address_v4(V4)
                    .with_local_address_v6(V6),
            ),
        ];
        for (flags, expected) in cases {
            let options = socket_options(&args(flags, None, None, false)).expect("valid");
            assert_eq!(&options, expected, "{flags:?}");
        }
    }

    /// Names (bare or `if!`) bind the device; with addresses of both families, all
    /// three are set, alongside the keepalive flags.
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
    #[test]
    fn interface_names_bind_the_device_alongside_addresses() {
        for name in ["eth0", "if!eth0"] {
            let options = socket_options(&args(&[name], None, None, false)).expect("valid");
            assert_eq!(
                options,
                SocketOptions::default().with_interface("eth0"),
                "{name}"
            );
        }
        let options = socket_options(&args(
            &["127.0.0.2", "if!eth0", "2001:db8::7"],
            Some("30"),
            Some("4"),
            false,
        ))
        .expect("valid");
        assert_eq!(
            options,
            SocketOptions::default()
                .with_interface("eth0")
                .with_local_address_v4(V4)
                .with_local_address_v6(V6)
                .with_keepalive(Some(Duration::from_secs(30)))
                .with_keepalive_interval(Duration::from_secs(30))
                .with_keepalive_retries(4)
        );
        // An address that looks like a name stays a name with if!.
        let options = socket_options(&args(&["if!lo", "::1"], None, None, true)).expect("valid");
        assert_eq!(
            options,
            SocketOptions::default()
                .with_interface("lo")
                .with_local_address_v6(Ipv6Addr::LOCALHOST)
                .with_keepalive(None)
        );
    }

    #[test]
    fn conflicting_interfaces_are_usage_errors() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["eth0", "if!eth1"],
                "--interface: two interface names, \"eth0\" and \"eth1\": a connection leaves \
                 from one",
            ),
            (
                &["127.0.0.2", "host!127.0.0.3"],
                "--interface: two IPv4 addresses, 127.0.0.2 and 127.0.0.3: give at most one \
                 per family",
            ),
            (
                &["::1", "2001:db8::7"],
                "--interface: two IPv6 addresses, ::1 and 2001:db8::7: give at most one per \
                 family",
            ),
        ];
        for (flags, message) in cases {
            let error = socket_options(&args(flags, None, None, false)).expect_err("refused");
            assert_eq!(error.code, USAGE, "{flags:?}");
            assert_eq!(error.message, *message, "{flags:?}");
        }
    }
}
