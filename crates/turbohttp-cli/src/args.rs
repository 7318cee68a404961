//! The command line, as clap sees it.
//!
//! Values that need more than a type to check (durations, `HOST:PORT`, `--resolve`,
//! `--endpoint`, URLs) are kept as text here and checked by [`crate::parse`] and
//! [`crate::options`], so that every mistake gets one line naming its argument.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `turbohttp`: shows the whole Happy Eyeballs race (RFC 8305), not just its result.
#[derive(Debug, Parser)]
#[command(
    name = "turbohttp",
    version,
    about = "Connect, fetch and simulate with a Happy Eyeballs (RFC 8305) connector, and see the race.",
    after_help = crate::exit::help_text()
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Race connections to a target (HOST:PORT, HOST PORT or a URL) and print the
    /// timeline of every attempt.
    Connect(ConnectArgs),
    /// Fetch a URL (http or https) with an HTTP GET over the raced connection.
    Get(GetArgs),
    /// Run the real race on simulated endpoints, in virtual time (exactly reproducible).
    Simulate(SimulateArgs),
    /// Say which part of a host's dual-stack path is broken: this machine's routes, each
    /// DNS query, every address on its own (TCP, and TLS for https), then the race a
    /// user gets, ending with findings. Exit 0 healthy, 1 degraded (reachable, something
    /// broken or slow), 6/7/35 unreachable (no address, no connection, no TLS), 28 out
    /// of time.
    Doctor(DoctorArgs),
    /// Build a dual-stack lab on loopback (a black-holed IPv6 endpoint, a healthy IPv4
    /// HTTP server) and fetch from it without and with Happy Eyeballs.
    Demo(DemoArgs),
}

/// The preferred family, for `--prefer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Family {
    /// IPv4 first.
    Ipv4,
    /// IPv6 first (the default).
    Ipv6,
    /// The family of the resolver's first address (what Go and hyper-util do); with
    /// per-family DNS queries, the family that answers first.
    Resolver,
}

/// The knobs of the race, shared by `connect`, `get` and `simulate`.
#[derive(Debug, Clone, Default, Args)]
pub struct RaceArgs {
    /// Time allowed for the whole connect, resolution included: seconds as curl takes
    /// them (`2.5`) or a duration (`2500ms`). Default 30s.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub connect_timeout: Option<String>,
    /// Head start of the preferred family (RFC 8305 "connection attempt delay"). Default 250ms.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub stagger: Option<String>,
    /// Delay between two attempts of the same family. Default 125ms.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub spacing: Option<String>,
    /// Most attempts in flight at once (at least 2). Default 2.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_concurrent: Option<String>,
    /// The family dialed first.
    #[arg(long, value_name = "FAMILY", value_enum)]
    pub prefer: Option<Family>,
    /// How long an A answer that comes first waits for the AAAA answer (RFC 8305
    /// "resolution delay"; with `--prefer ipv4`, the other way round). Default 50ms.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub resolution_delay: Option<String>,
    /// How many attempts of the preferred family come before the other family's first
    /// (RFC 8305 "first address family count"); below --max-concurrent, whose last slot
    /// is the other family's. Default 1.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub first_family_count: Option<String>,
    /// Dial one address at a time, in resolver order, like a plain sequential connector.
    #[arg(long)]
    pub no_happy_eyeballs: bool,
    /// Use IPv4 addresses only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 addresses only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
}

/// Which resolver answers names, on `connect` and `get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResolverKind {
    /// DNS queries per family (AAAA and A apart, the race starting on the first
    /// answer), from /etc/resolv.conf and /etc/hosts; the default.
    Dns,
    /// The system's getaddrinfo (nsswitch: mDNS, LDAP...), which waits for both answers.
    System,
}

/// How names are resolved, on `connect` and `get`.
#[derive(Debug, Clone, Default, Args)]
pub struct ResolverArgs {
    /// Ask these DNS servers instead of those of /etc/resolv.conf (curl's flag):
    /// `ADDR[:PORT][,ADDR[:PORT]...]`, IPv6 in brackets when a port is given.
    #[arg(long, value_name = "ADDR[:PORT][,...]")]
    pub dns_servers: Option<String>,
    /// `dns` (the default: AAAA and A asked separately) or `system` (getaddrinfo).
    #[arg(long, value_name = "RESOLVER", value_enum)]
    pub resolver: Option<ResolverKind>,
    /// Do not ask an https origin's HTTPS record (curl's flag). By default the DNS
    /// resolver asks it with AAAA and A, and its port, protocols and address hints
    /// shape the race (Happy Eyeballs v3).
    #[arg(long)]
    pub no_https_rr: bool,
    /// Never offer Encrypted Client Hello. By default an HTTPS record's `ech`
    /// configuration is offered (the server name travels encrypted), and when every
    /// record has one nothing is sent without it.
    #[arg(long)]
    pub no_ech: bool,
    /// curl's Alt-Svc cache file: its live entries for the target become
    /// alternatives, dialed first (RFC 7838); `get` writes back what the response's
    /// Alt-Svc header advertises. A missing file is fine (`get` creates it).
    #[arg(long, value_name = "FILE")]
    pub alt_svc: Option<std::path::PathBuf>,
}

/// Socket options, on `connect` and `get` (curl's flags).
#[derive(Debug, Clone, Default, Args)]
pub struct SocketArgs {
    /// Leave from this interface (`eth0`, bound with SO_BINDTODEVICE) or local address
    /// (`192.0.2.7`, `2001:db8::7`); `if!NAME` and `host!ADDR` say which, as in curl.
    /// Repeat to give an interface and one address per family; with one family's
    /// address only, only that family is dialed.
    #[arg(long, value_name = "NAME|ADDR")]
    pub interface: Vec<String>,
    /// Seconds a connection stays idle before the first TCP keepalive probe, and
    /// between probes (curl's flag; a whole number). Default 60.
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub keepalive_time: Option<String>,
    /// How many unanswered keepalive probes close the connection (curl's flag).
    /// Default: the system's (9 on Linux).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keepalive_cnt: Option<String>,
    /// Turn TCP keepalive off.
    #[arg(long, conflicts_with_all = ["keepalive_time", "keepalive_cnt"])]
    pub no_keepalive: bool,
}

/// TLS on `connect`.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// Do a TLS handshake as part of each attempt (a failed handshake fails the attempt).
    #[arg(long)]
    pub tls: bool,
    /// Trust the CA certificates in this PEM file instead of the built-in roots.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub cacert: Option<PathBuf>,
    /// The name to send in SNI and to verify the certificate against (default: the host).
    #[arg(long, value_name = "NAME", requires = "tls")]
    pub servername: Option<String>,
    /// Trust the operating system's CA store instead of the built-in roots (with
    /// --cacert: both). On Linux, SSL_CERT_FILE and SSL_CERT_DIR name it when set.
    #[arg(long, requires = "tls")]
    pub ca_native: bool,
    /// Send this client certificate (PEM, the chain after it) to servers that ask for
    /// one (mutual TLS); its key is in --key, else in this file.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Use TLS 1.2 or later (the default).
    #[arg(long = "tlsv1.2", requires = "tls", overrides_with = "tlsv1_3")]
    pub tlsv1_2: bool,
    /// Use TLS 1.3 only: a server that speaks at most TLS 1.2 fails the attempt.
    #[arg(long = "tlsv1.3", requires = "tls", overrides_with = "tlsv1_2")]
    pub tlsv1_3: bool,
}

/// `turbohttp connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Where to connect: `host:port`, `[::1]:443`, `host port`, or a URL
    /// (`https://host/` is port 443 and turns --tls on; `http://host/` is port 80).
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// The port, when the target is a host alone (`connect localhost 8000`).
    #[arg(value_name = "PORT")]
    pub port: Option<String>,
    /// The race's knobs.
    #[command(flatten)]
    pub race: RaceArgs,
    /// Answer HOST:PORT with these addresses, in this order, instead of asking DNS
    /// (curl's syntax; IPv6 in brackets; may repeat).
    #[arg(long, value_name = "HOST:PORT:ADDR[,ADDR...]")]
    pub resolve: Vec<String>,
    /// The resolver.
    #[command(flatten)]
    pub resolver: ResolverArgs,
    /// Socket options.
    #[command(flatten)]
    pub socket: SocketArgs,
    /// TLS.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// The HTTP versions the race may connect for (with TLS).
    #[command(flatten)]
    pub versions: HttpVersionArgs,
    /// Print one JSON object instead of the table and chart.
    #[arg(long)]
    pub json: bool,
}

/// `turbohttp get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The URL: `http://host[:port]/path` or `https://...` (`host:port/path` is
    /// taken as `http://`), or a host followed by a port (`get localhost 8000`).
    #[arg(value_name = "URL")]
    pub url: String,
    /// The port, when the URL is a host alone (`http://HOST:PORT/`).
    #[arg(value_name = "PORT")]
    pub port: Option<String>,
    /// Write the body to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the race timeline and the request and response heads to standard error.
    #[arg(short, long)]
    pub verbose: bool,
    /// Exit 22 (and write no body) when the server answers with a status of 400 or more.
    #[arg(short, long)]
    pub fail: bool,
    /// Print the race and the response head as one JSON object on standard error
    /// (instead of -v's text); the body still goes to standard output (or -o).
    #[arg(long)]
    pub json: bool,
    /// Trust the CA certificates in this PEM file instead of the built-in roots (https).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// The name to send in SNI and to verify the certificate against (https).
    #[arg(long, value_name = "NAME")]
    pub servername: Option<String>,
    /// Trust the operating system's CA store instead of the built-in roots (with
    /// --cacert: both). On Linux, SSL_CERT_FILE and SSL_CERT_DIR name it when set.
    #[arg(long)]
    pub ca_native: bool,
    /// Send this client certificate (PEM, the chain after it) to servers that ask for
    /// one (mutual TLS); its key is in --key, else in this file.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Use TLS 1.2 or later (the default).
    #[arg(long = "tlsv1.2", overrides_with = "tlsv1_3")]
    pub tlsv1_2: bool,
    /// Use TLS 1.3 only: a server that speaks at most TLS 1.2 fails the connection.
    #[arg(long = "tlsv1.3", overrides_with = "tlsv1_2")]
    pub tlsv1_3: bool,
    /// Time allowed for the whole transfer, connect included (curl's -m): seconds
    /// (`2.5`) or a duration (`2500ms`). Past it, exit 28. Default: no limit.
    #[arg(short = 'm', long, value_name = "DURATION", allow_hyphen_values = true)]
    pub max_time: Option<String>,
    /// The HTTP versions to try.
    #[command(flatten)]
    pub versions: HttpVersionArgs,
    /// The race's knobs.
    #[command(flatten)]
    pub race: RaceArgs,
    /// Answer HOST:PORT with these addresses, in this order, instead of asking DNS
    /// (curl's syntax; IPv6 in brackets; may repeat).
    #[arg(long, value_name = "HOST:PORT:ADDR[,ADDR...]")]
    pub resolve: Vec<String>,
    /// The resolver.
    #[command(flatten)]
    pub resolver: ResolverArgs,
    /// Socket options.
    #[command(flatten)]
    pub socket: SocketArgs,
}

/// `turbohttp simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The name and port the race connects to, as for `connect` (`HOST:PORT`,
    /// `HOST PORT`, a URL). Default `simulated.test:443`; an --endpoint given as a bare
    /// IP takes this port.
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// The port, when the target is a host alone.
    #[arg(value_name = "PORT", requires = "target")]
    pub port: Option<String>,
    /// One simulated address, in resolver order: `ADDR=BEHAVIOUR` with ADDR an IP
    /// (port 443) or a socket address, and BEHAVIOUR `ok@DURATION`, `refuse@DURATION`,
    /// `stall`, `setup-fail@DURATION` or `reject@DURATION`. Repeat for each address.
    #[arg(long, value_name = "ADDR=BEHAVIOUR", required = true)]
    pub endpoint: Vec<String>,
    /// How the simulated DNS server answers the AAAA query: `answer@DURATION`, `lost`,
    /// `servfail@DURATION`, `nxdomain@DURATION` or `nodata@DURATION`. With `--dns-a`
    /// (the other defaults to `answer@0ms`), AAAA and A are asked separately; without
    /// either, every address is known at once.
    #[arg(long, value_name = "BEHAVIOUR")]
    pub dns_aaaa: Option<String>,
    /// How the simulated DNS server answers the A query (see `--dns-aaaa`).
    #[arg(long, value_name = "BEHAVIOUR")]
    pub dns_a: Option<String>,
    /// The origin's HTTPS record (Happy Eyeballs v3), asked with AAAA and A (which
    /// then default to `answer@0ms`): `lost`, `servfail@DURATION`, `nxdomain@...`,
    /// `nodata@...`, `none@...`, or records separated by `;`, then `@DURATION`. A
    /// record is `,`-separated keys: `priority=N`, `target=NAME`, `alias=NAME`,
    /// `alpn=h2+http/1.1`, `no-default-alpn`, `port=N`, `ipv4hint=IP+IP`,
    /// `ipv6hint=IP+IP`, `mandatory=alpn+port`, `ech` (it carries an ECH configuration: such records go first, and when all have one the origin's own addresses are not dialed); e.g.
    /// `alpn=h2,port=8443,ipv4hint=192.0.2.1@5ms`. An endpoint at the record's port
    /// must be given with --endpoint to be reachable.
    #[arg(long, value_name = "RECORDS@DURATION")]
    pub dns_https: Option<String>,
    /// Cancel the race this long after it starts, as a caller would.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub cancel_after: Option<String>,
    /// The network speaks QUIC, and QUIC to ADDR behaves as BEHAVIOUR (the forms of
    /// --endpoint; may repeat); to any other address QUIC gets no answer, as when UDP
    /// is blocked. QUIC is raced where an HTTPS record (--dns-https alpn=h3...) offers
    /// h3, or at the origin with --http3.
    #[arg(long = "quic", value_name = "ADDR=BEHAVIOUR")]
    pub quic: Vec<String>,
    /// Race QUIC at the origin too, ahead of TCP (curl's --http3).
    #[arg(long = "http3", conflicts_with = "http3_only")]
    pub http3: bool,
    /// QUIC only, no TCP (curl's --http3-only).
    #[arg(long = "http3-only")]
    pub http3_only: bool,
    /// The race's knobs.
    #[command(flatten)]
    pub race: RaceArgs,
    /// Print one JSON object instead of the table and chart.
    #[arg(long)]
    pub json: bool,
}

/// `turbohttp doctor`.
#[derive(Debug, Args)]
#[command(after_help = "\
On doctor, --connect-timeout bounds the whole run, every probe and the race (default 10s, \
not connect's 30s); each DNS query and each address also has --probe-timeout.

Findings: one sentence each, worst first, with a severity (error, warning, info), the \
layer (route, dns, connect, tls, quic, race) and the family. For https, QUIC (TLS 1.3, \
ALPN h3) is probed on every address where the HTTPS record offers h3, or with --http3.

Exit: 0 healthy; 1 degraded (reachable, but a finding says something is broken or slow); \
unreachable: 6 (no address), 7 (no connection), 35 (connected, but no TLS handshake \
succeeded); 28 when the timeout ran out before any address was probed; 2 for a \
malformed argument.")]
pub struct DoctorArgs {
    /// The host to examine: `host:port`, `[::1]:443`, `host port`, or a URL
    /// (`https://host/` is port 443 and adds a TLS handshake on every address).
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// The port, when the target is a host alone.
    #[arg(value_name = "PORT")]
    pub port: Option<String>,
    /// The race's knobs; --connect-timeout bounds the whole doctor (default 10s).
    #[command(flatten)]
    pub race: RaceArgs,
    /// Answer HOST:PORT with these addresses instead of asking DNS (curl's syntax).
    #[arg(long, value_name = "HOST:PORT:ADDR[,ADDR...]")]
    pub resolve: Vec<String>,
    /// Ask these DNS servers instead of those of /etc/resolv.conf:
    /// `ADDR[:PORT][,...]`. getaddrinfo is then not compared (it asks others).
    #[arg(long, value_name = "ADDR[:PORT][,...]")]
    pub dns_servers: Option<String>,
    /// `dns` (the default: each query on its own) or `system` (getaddrinfo only).
    #[arg(long, value_name = "RESOLVER", value_enum)]
    pub resolver: Option<ResolverKind>,
    /// Do not ask an https origin's HTTPS record.
    #[arg(long)]
    pub no_https_rr: bool,
    /// Do a TLS handshake on every address (implied by an https:// target).
    #[arg(long)]
    pub tls: bool,
    /// Probe QUIC (HTTP/3) at the origin's port even where no HTTPS record offers h3,
    /// and run the race as `get --http3` does (QUIC at the origin too). Needs https.
    #[arg(long)]
    pub http3: bool,
    /// Trust the CA certificates in this PEM file instead of the built-in roots.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// The name to send in SNI and to verify the certificate against (default: the host).
    #[arg(long, value_name = "NAME")]
    pub servername: Option<String>,
    /// Trust the operating system's CA store instead of the built-in roots.
    #[arg(long)]
    pub ca_native: bool,
    /// Each DNS query's and each address's own time limit (within --connect-timeout).
    /// Default 2s.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub probe_timeout: Option<String>,
    /// Probe at most this many addresses of each family. Default 4.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_addresses: Option<String>,
    /// Where the IPv6 route probe points its UDP socket (nothing is sent):
    /// `[ADDR]:PORT`. Default `[2001:4860:4860::8888]:53`.
    #[arg(long, value_name = "[ADDR]:PORT")]
    pub route_probe_v6: Option<String>,
    /// Where the IPv4 route probe points its UDP socket (nothing is sent):
    /// `ADDR:PORT`. Default `8.8.8.8:53`.
    #[arg(long, value_name = "ADDR:PORT")]
    pub route_probe_v4: Option<String>,
    /// Print one JSON object (findings, evidence, the race) instead of the text.
    #[arg(long)]
    pub json: bool,
}

/// `turbohttp demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run the lab on the simulated network (virtual time) instead of loopback sockets;
    /// this is also what happens when `::1` is not available.
    #[arg(long)]
    pub simulated: bool,
    /// Print one JSON object with both runs instead of the tables and charts.
    #[arg(long)]
    pub json: bool,
}

/// Which HTTP versions `get` tries (curl's flags). By default HTTP/3 is raced over
/// QUIC where the origin advertises `h3` (HTTPS record, `--alt-svc`), and TCP offers
/// `h2` and `http/1.1`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HttpVersionArgs {
    /// Try HTTP/3 at the origin too, even unadvertised: QUIC first, TCP (h2,
    /// http/1.1) one attempt delay later, or at once when QUIC fails fast.
    #[arg(long = "http3", group = "http_version")]
    pub http3: bool,
    /// HTTP/3 only: no TCP. Blocked UDP fails the transfer (exit 28 at the timeout).
    #[arg(long = "http3-only", group = "http_version")]
    pub http3_only: bool,
    /// HTTP/2 over TCP (falling back to HTTP/1.1 if the server has no h2); no QUIC.
    #[arg(long = "http2", group = "http_version")]
    pub http2: bool,
    /// HTTP/1.1 over TCP only; no QUIC.
    #[arg(long = "http1.1", group = "http_version")]
    pub http1_1: bool,
}

impl HttpVersionArgs {
    /// What the flags ask of QUIC: by default QUIC where `h3` is advertised.
    pub fn http3(&self) -> turbohttp::Http3 {
        use turbohttp::Http3;
        if self.http3 {
            Http3::Also
        } else if self.http3_only {
            Http3::Only
        } else if self.http2 || self.http1_1 {
            Http3::Off
        } else {
            Http3::Advertised
        }
    }

    /// The ALPN list TCP's TLS offers: `http/1.1` alone with `--http1.1`; otherwise
    /// empty, for the library's `h2`, `http/1.1`.
    pub fn tcp_alpn(&self) -> Vec<Vec<u8>> {
        if self.http1_1 {
            vec![turbohttp::ALPN_HTTP_1_1.to_vec()]
        } else {
            Vec::new()
        }
    }

    /// The flag that asks for QUIC, if one does (for an error without TLS).
    pub fn quic_flag(&self) -> Option<&'static str> {
        if self.http3 {
            Some("--http3")
        } else if self.http3_only {
            Some("--http3-only")
        } else {
            None
        }
    }
}
