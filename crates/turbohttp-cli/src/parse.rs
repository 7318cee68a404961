//! Parsers for the values the command line takes as text: durations, `HOST:PORT`,
//! curl's `--resolve` entries, `--endpoint` specifications and URLs.
//!
//! Each returns a message that does not name the argument; the caller prefixes it
//! (`--stagger: ...`). None of them panics, whatever the input.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hyper::Uri;
use hyper::http::uri::{Authority, InvalidUri};
use turbohttp::sim::{Behavior, parse_duration};
use turbohttp::{Host, parse_authority, parse_port};
use turbohttp::{Scheme, server_name_of};

/// Parses a duration flag's value, the same way for every flag: a number of seconds
/// as curl takes them (`2.5`, `0.25`), or a number with a unit (`250ms`, `1.5s`,
/// `2m`). Negative values and words are refused with the forms it takes.
///
/// ```
/// use std::time::Duration;
/// use turbohttp_cli::parse::duration;
/// assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
/// assert_eq!(duration("0.25"), Ok(Duration::from_millis(250)));
/// assert!(duration("-1ms").unwrap_err().contains("negative"));
/// assert!(duration("abc").unwrap_err().contains("seconds (2.5)"));
/// ```
pub fn duration(text: &str) -> Result<Duration, String> {
    if text.trim_start().starts_with('-') {
        return Err(format!("the duration {text:?} is negative"));
    }
    let plain_number = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1
        && text.bytes().any(|b| b.is_ascii_digit());
    if plain_number {
        // Seconds, as curl takes them; the same exact parser as every other duration.
        return parse_duration(&format!("{text}s"));
    }
    if !text.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "{text:?} is not a duration: write seconds (2.5) or a number with a unit \
             (250ms, 1.5s, 2m)"
        ));
    }
    parse_duration(text)
}

/// Parses a timeout as curl does (a number of seconds, fractions allowed: `2.5`) or as
/// a duration with a unit (`2500ms`). Zero and negative values are refused.
///
/// ```
/// use std::time::Duration;
/// use turbohttp_cli::parse::timeout;
/// assert_eq!(timeout("2.5"), Ok(Duration::from_millis(2500)));
/// assert_eq!(timeout("300ms"), Ok(Duration::from_millis(300)));
/// assert!(timeout("0").is_err());
/// ```
pub fn timeout(text: &str) -> Result<Duration, String> {
    let value = duration(text)?;
    if value.is_zero() {
        return Err(format!(
            "the timeout {text:?} is zero, which leaves no time to connect"
        ));
    }
    Ok(value)
}

/// Parses a count such as `--max-concurrent`'s: a positive decimal integer.
pub fn count(text: &str) -> Result<usize, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a whole number"));
    }
    text.parse::<usize>()
        .map_err(|_| format!("{text:?} is too large"))
}

/// What `--interface` names: a network interface or a local address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interface {
    /// An interface name, bound with `SO_BINDTODEVICE`.
    Name(String),
    /// A local address to bind.
    Address(IpAddr),
}

/// Parses `--interface` as curl does: `if!NAME` is a name, `host!ADDR` an address,
/// anything else an address if it reads as one (`[::1]` too), else a name. Unlike
/// curl, `host!` takes IP addresses only (no lookup of a local host name).
///
/// ```
/// use turbohttp_cli::parse::{Interface, interface};
/// assert_eq!(interface("eth0"), Ok(Interface::Name("eth0".into())));
/// assert_eq!(interface("127.0.0.1"), Ok(Interface::Address([127, 0, 0, 1].into())));
/// assert_eq!(interface("if!10.0.0.1"), Ok(Interface::Name("10.0.0.1".into())));
/// assert!(interface("host!eth0").is_err());
/// ```
pub fn interface(text: &str) -> Result<Interface, String> {
    let address = |text: &str| {
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        bare.parse::<IpAddr>().ok()
    };
    if let Some(name) = text.strip_prefix("if!") {
        return Ok(Interface::Name(name.to_owned()));
    }
    if let Some(host) = text.strip_prefix("host!") {
        return address(host).map(Interface::Address).ok_or_else(|| {
            format!("{host:?} is not an IP address (host! takes an address, not a name)")
        });
    }
    if text.starts_with("ifhost!") {
        return Err(format!(
            "{text:?}: ifhost! is not supported; give the interface and the address as \
             two --interface flags"
        ));
    }
    Ok(address(text).map_or_else(|| Interface::Name(text.to_owned()), Interface::Address))
}

/// The forms a target takes, for the sentence that refuses one.
pub const TARGET_FORMS: &str = "HOST:PORT, [IPv6]:PORT, HOST PORT, or a URL \
     (http://HOST/ means port 80, https://HOST/ 443)";

/// Where `connect` and `simulate` connect, however it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host.
    pub host: Host,
    /// The port.
    pub port: u16,
    /// The scheme, when the target was a URL.
    pub scheme: Option<Scheme>,
}

/// Parses a target written as one word, `HOST:PORT`, `[IPv6]:PORT` or a URL
/// (`https://example.com/` is port 443, `http://` 80), or as two, `HOST PORT` (the
/// nc and telnet habit). The error says what is wrong and shows the accepted forms.
///
/// ```
/// use turbohttp::Scheme;
/// use turbohttp_cli::parse::target;
/// assert_eq!(target("[::1]:443", None).unwrap().port, 443);
/// assert_eq!(target("localhost", Some("8000")).unwrap().port, 8000);
/// let url = target("https://example.com/", None).unwrap();
/// assert_eq!((url.port, url.scheme), (443, Some(Scheme::Https)));
/// assert!(target("example.com", None).unwrap_err().contains("HOST PORT"));
/// assert!(target("example.com:0", None).is_err());
/// ```
pub fn target(first: &str, port: Option<&str>) -> Result<Target, String> {
    let refuse = |reason: &dyn std::fmt::Display| {
        format!("{first:?} is not a target: {reason}; write {TARGET_FORMS}")
    };
    if let Some(port) = port {
        let host = Host::parse(first).map_err(|e| refuse(&e))?;
        let port = parse_port(port).map_err(|e| refuse(&e))?;
        return Ok(Target {
            host,
            port,
            scheme: None,
        });
    }
    if first.contains("://") {
        let url = url(first).map_err(|e| refuse(&e))?;
        return Ok(Target {
            host: url.host,
            port: url.port,
            scheme: Some(url.scheme),
        });
    }
    let (host, port) = parse_authority(first).map_err(|e| refuse(&e))?;
    Ok(Target {
        host,
        port,
        scheme: None,
    })
}

/// Parses what `get` fetches: a URL (`http://` when it names no scheme, as curl
/// does), or `HOST PORT` as two words (`http://HOST:PORT/`).
///
/// ```
/// use turbohttp_cli::parse::get_url;
/// assert_eq!(get_url("localhost", Some("8000")).unwrap().to_string(), "http://localhost:8000/");
/// assert_eq!(get_url("localhost:8000", None).unwrap().port, 8000);
/// assert!(get_url("localhost", Some("http")).unwrap_err().contains("HOST PORT"));
/// ```
pub fn get_url(first: &str, port: Option<&str>) -> Result<Url, String> {
    match port {
        None => url(first).map_err(|e| format!("{e}; write {TARGET_FORMS}")),
        Some(_) => {
            let target = target(first, port)?;
            Ok(Url {
                scheme: Scheme::Http,
                host: target.host,
                port: target.port,
                explicit_port: true,
                path_and_query: "/".to_owned(),
            })
        }
    }
}

/// One `--resolve HOST:PORT:ADDR[,ADDR...]` entry: curl's syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveEntry {
    /// The host name it answers for (compared without regard to ASCII case).
    pub host: String,
    /// The port it answers for.
    pub port: u16,
    /// The addresses, in the order given, each at `port`.
    pub addrs: Vec<SocketAddr>,
}

/// Parses a `--resolve` entry: `HOST:PORT:ADDR[,ADDR...]`, with IPv6 addresses in
/// brackets (`[::1]`; brackets may be left out in the address list, where nothing is
/// ambiguous). A leading `+` (curl's "expiring entry") is accepted and means nothing
/// here; curl's `-HOST:PORT` removal and `*` wildcard are refused.
///
/// ```
/// use turbohttp_cli::parse::resolve_entry;
/// let entry = resolve_entry("example.test:443:[::1],127.0.0.1").unwrap();
/// assert_eq!(entry.host, "example.test");
/// assert_eq!(entry.addrs[0].to_string(), "[::1]:443");
/// assert_eq!(entry.addrs[1].to_string(), "127.0.0.1:443");
/// assert!(resolve_entry("example.test:443").is_err());
/// ```
pub fn resolve_entry(text: &str) -> Result<ResolveEntry, String> {
    const SYNTAX: &str = "expected HOST:PORT:ADDR[,ADDR...]";
    if text.starts_with('-') {
        return Err(format!(
            "{text:?}: removing entries (-HOST:PORT) is not supported; {SYNTAX}"
        ));
    }
    let entry = text.strip_prefix('+').unwrap_or(text);
    let (host, rest) = if entry.starts_with('[') {
        let close = entry
            .find(']')
            .ok_or_else(|| format!("{text:?}: a '[' without its closing ']'; {SYNTAX}"))?;
        let rest = entry[close + 1..]
            .strip_prefix(':')
            .ok_or_else(|| format!("{text:?}: no port; {SYNTAX}"))?;
        (&entry[..=close], rest)
    } else {
        entry
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: no port; {SYNTAX}"))?
    };
    if host == "*" {
        return Err(format!(
            "{text:?}: the wildcard host '*' is not supported; name the host"
        ));
    }
    let host = Host::parse(host).map_err(|e| format!("{text:?}: {e}; {SYNTAX}"))?;
    let (port, addrs) = rest
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: no address; {SYNTAX}"))?;
    let port = parse_port(port).map_err(|e| format!("{text:?}: {e}"))?;
    let addrs = addrs
        .split(',')
        .map(|addr| resolve_address(addr, port).map_err(|e| format!("{text:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let host = match host {
        Host::Name(name) => name,
        literal => literal.to_string(),
    };
    Ok(ResolveEntry { host, port, addrs })
}

fn resolve_address(addr: &str, port: u16) -> Result<SocketAddr, String> {
    if addr.is_empty() {
        return Err("an empty address in the list".to_owned());
    }
    match Host::parse(addr) {
        Ok(host) => host
            .socket_addr(port)
            .ok_or_else(|| format!("{addr:?} is not an IP address")),
        Err(_) => Err(format!("{addr:?} is not an IP address")),
    }
}

/// Parses a `simulate --endpoint ADDR=BEHAVIOUR`: ADDR is an IP address (port 443) or
/// a socket address (`[2001:db8::1]:8443`, `192.0.2.1:80`); BEHAVIOUR is one of
/// `ok@DURATION`, `refuse@DURATION`, `stall`, `setup-fail@DURATION`, `reject@DURATION`.
///
/// ```
/// use turbohttp::sim::Behavior;
/// use turbohttp_cli::parse::endpoint;
/// let (addr, behavior) = endpoint("2001:db8::1=stall").unwrap();
/// assert_eq!(addr.to_string(), "[2001:db8::1]:443");
/// assert_eq!(behavior, Behavior::Stall);
/// assert!(endpoint("192.0.2.1=explode@1ms").is_err());
/// ```
pub fn endpoint(text: &str) -> Result<(SocketAddr, Behavior), String> {
    endpoint_at(text, 443)
}

/// [`endpoint`], a bare IP taking `port` (the simulated target's).
pub fn endpoint_at(text: &str, port: u16) -> Result<(SocketAddr, Behavior), String> {
    let (addr, behavior) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected ADDR=BEHAVIOUR, as 192.0.2.1=ok@40ms"))?;
    let addr = endpoint_address(addr, port).map_err(|e| format!("{text:?}: {e}"))?;
    if behavior.trim_start().contains("@-") {
        return Err(format!("{text:?}: the duration is negative"));
    }
    let behavior = behavior
        .parse::<Behavior>()
        .map_err(|e| format!("{text:?}: {e}"))?;
    Ok((addr, behavior))
}

/// Parses `--dns-servers`: `ADDR[:PORT][,ADDR[:PORT]...]`, port 53 unless given, IPv6
/// in brackets when a port is given (curl's syntax).
///
/// ```
/// use turbohttp_cli::parse::dns_servers;
/// let servers = dns_servers("127.0.0.1:5353,::1,[::1]:53").unwrap();
/// let text: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
/// assert_eq!(text, ["127.0.0.1:5353", "[::1]:53", "[::1]:53"]);
/// assert!(dns_servers("").is_err());
/// assert!(dns_servers("dns.test").is_err());
/// assert!(dns_servers("127.0.0.1:0").is_err());
/// ```
pub fn dns_servers(text: &str) -> Result<Vec<SocketAddr>, String> {
    if text.trim().is_empty() {
        return Err("no server given".to_owned());
    }
    text.split(',')
        .map(|item| {
            let item = item.trim();
            let not_an_ip = || format!("{item:?} is not an IP address (with an optional port)");
            let (host, port) = match Host::parse(item) {
                Ok(host) => (host, 53),
                Err(_) if item.contains(':') => {
                    parse_authority(item).map_err(|e| format!("{item:?}: {e}"))?
                }
                Err(_) => return Err(not_an_ip()),
            };
            if port == 0 {
                return Err(format!(
                    "{item:?}: port 0 is not a port a server listens on"
                ));
            }
            host.socket_addr(port).ok_or_else(not_an_ip)
        })
        .collect()
}

fn endpoint_address(addr: &str, default_port: u16) -> Result<SocketAddr, String> {
    let not_an_ip = || format!("{addr:?} is not an IP address");
    let (host, port) = match Host::parse(addr) {
        Ok(host) => (host, default_port),
        Err(_) if addr.contains(':') => parse_authority(addr).map_err(|e| e.to_string())?,
        Err(_) => return Err(not_an_ip()),
    };
    host.socket_addr(port).ok_or_else(not_an_ip)
}

/// A URL for `get`, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// http or https.
    pub scheme: Scheme,
    /// The host.
    pub host: Host,
    /// The port (the scheme's default when the URL names none).
    pub port: u16,
    /// Whether the URL named the port.
    pub explicit_port: bool,
    /// The path and query, at least `/`.
    pub path_and_query: String,
}

impl Url {
    /// The `Host` header: the host as written (IPv6 in brackets), with the port when the
    /// URL named one.
    pub fn authority(&self) -> String {
        if self.explicit_port {
            format!("{}:{}", self.host, self.port)
        } else {
            self.host.to_string()
        }
    }

    /// The host as a TLS server name, as the transport derives it when `--servername`
    /// does not override it ([`server_name_of`]): a DNS name without its trailing dot,
    /// or the IP address without brackets. A name rustls cannot use (`1.2.3`) is given
    /// the same way, for the transport to refuse.
    pub fn server_name(&self) -> String {
        server_name_of(&self.host).map_or_else(
            || self.host.to_string().trim_end_matches('.').to_owned(),
            |name| name.to_str().into_owned(),
        )
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme,
            self.authority(),
            self.path_and_query
        )
    }
}

const USERINFO_REFUSED: &str = "user names and passwords in URLs are not supported";

/// Parses an `http://` or `https://` URL. As curl does, a URL without a scheme is
/// taken as `http://`. User names and passwords in URLs are refused; the fragment is
/// dropped.
///
/// ```
/// use turbohttp::Scheme;
/// use turbohttp_cli::parse::url;
/// let u = url("https://[::1]:8443/a?b=c#frag").unwrap();
/// assert_eq!((u.scheme, u.port, u.path_and_query.as_str()), (Scheme::Https, 8443, "/a?b=c"));
/// assert_eq!(u.authority(), "[::1]:8443");
/// assert!(url("ftp://example.com/").unwrap_err().contains("unsupported scheme"));
/// assert_eq!(url("h.test/?u=http://x").unwrap().path_and_query, "/?u=http://x");
/// ```
pub fn url(text: &str) -> Result<Url, String> {
    let fail = |message: &dyn std::fmt::Display| format!("{text:?}: {message}");
    // The fragment is never sent: dropped first, wherever it stands.
    let without_fragment = text.split_once('#').map_or(text, |(url, _)| url);
    // A scheme is what precedes "://" only if no '/' or '?' comes first, so that
    // `h.test/?u=http://x` is a scheme-less URL (taken as http://, as curl does).
    let (scheme, rest) = match without_fragment.split_once("://") {
        Some((scheme, rest)) if !scheme.contains(['/', '?']) => (scheme, rest),
        _ => ("http", without_fragment),
    };
    let scheme = Scheme::parse(scheme).ok_or_else(|| {
        fail(&format_args!(
            "unsupported scheme {:?} (use http:// or https://)",
            scheme.to_ascii_lowercase()
        ))
    })?;
    if rest.is_empty() || rest.starts_with(['/', '?']) {
        return Err(fail(&"the URL has no host"));
    }
    let uri = match format!("{scheme}://{rest}").parse::<Uri>() {
        Ok(uri) => uri,
        Err(error) => return Err(fail(&uri_error(scheme, rest, &error))),
    };
    let (host, port, explicit_port) = host_and_port(&uri, scheme).map_err(|e| fail(&e))?;
    let path_and_query = match uri.query() {
        Some(query) => format!("{}?{query}", uri.path()),
        None => uri.path().to_owned(),
    };
    Ok(Url {
        scheme,
        host,
        port,
        explicit_port,
        path_and_query,
    })
}

/// The host and port of an absolute `uri` (the scheme's default port when it names
/// none), and whether it named one; user names and passwords are refused.
fn host_and_port(uri: &Uri, scheme: Scheme) -> Result<(Host, u16, bool), String> {
    let authority = uri.authority().map_or("", Authority::as_str);
    if authority.contains('@') {
        return Err(USERINFO_REFUSED.to_owned());
    }
    // hyper's host keeps an IPv6 literal's brackets: anything after it is the port.
    if uri.host() == Some(authority) {
        let host = Host::parse(authority).map_err(|e| e.to_string())?;
        Ok((host, scheme.default_port(), false))
    } else {
        let (host, port) = parse_authority(authority).map_err(|e| e.to_string())?;
        Ok((host, port, true))
    }
}

/// Why hyper refused `scheme://rest`, in the terms of the URL's parts. The authority
/// ends at the first `/` or `?`, as in hyper's parser: when the URL without the rest
/// parses and names a valid host and port, the path is at fault.
fn uri_error(scheme: Scheme, rest: &str, error: &InvalidUri) -> String {
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return USERINFO_REFUSED.to_owned();
    }
    if let Ok(uri) = format!("{scheme}://{authority}").parse::<Uri>() {
        return match host_and_port(&uri, scheme) {
            Ok(_) => "the path contains characters that must be percent-encoded".to_owned(),
            Err(e) => e,
        };
    }
    // hyper refused the authority itself: the library says what is wrong with it.
    let names_port = if authority.starts_with('[') {
        !authority.ends_with(']')
    } else {
        authority.contains(':')
    };
    let library = if names_port {
        parse_authority(authority).err()
    } else {
        Host::parse(authority).err()
    };
    library.map_or_else(|| format!("not a valid URL ({error})"), |e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries() {
        let e = resolve_entry("+Dual.test:8080:[::1],127.0.0.1,::2").unwrap();
        assert_eq!(e.host, "Dual.test");
        assert_eq!(e.port, 8080);
        let addrs: Vec<String> = e.addrs.iter().map(ToString::to_string).collect();
        assert_eq!(addrs, ["[::1]:8080", "127.0.0.1:8080", "[::2]:8080"]);
        for bad in [
            "",
            "host",
            "host:80",
            "host:80:",
            "host:0:127.0.0.1",
            "host:65536:127.0.0.1",
            "host:x:127.0.0.1",
            "host:80:127.0.0.1,",
            "host:80:localhost",
            "host:80:[::1",
            "*:80:127.0.0.1",
            "-host:80",
            "[::1:80:127.0.0.1",
            "a b:80:127.0.0.1",
        ] {
            assert!(resolve_entry(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint("[2001:db8::1]:8443=ok@40ms").unwrap(),
            (
                "[2001:db8::1]:8443".parse().unwrap(),
                Behavior::Connect(Duration::from_millis(40))
            )
        );
        assert_eq!(
            endpoint("[2001:db8::1]=stall").unwrap().0.to_string(),
            "[2001:db8::1]:443"
        );
        for bad in [
            "",
            "192.0.2.1",
            "192.0.2.1=",
            "192.0.2.1=boom@1ms",
            "192.0.2.1=ok@-1ms",
            "192.0.2.1:0=stall",
            "host.test=stall",
            "=stall",
        ] {
            assert!(endpoint(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn urls() {
        let u = url("example.test").unwrap();
        assert_eq!(
            (u.scheme, u.port, u.path_and_query.as_str()),
            (Scheme::Http, 80, "/")
        );
        assert_eq!(url("http://h.test?x=1").unwrap().path_and_query, "/?x=1");
        assert_eq!(url("HTTPS://h.test").unwrap().port, 443);
        assert_eq!(url("http://[::1]/").unwrap().authority(), "[::1]");
        assert_eq!(url("http://[::1]/").unwrap().server_name(), "::1");
        assert_eq!(url("h.test.").unwrap().server_name(), "h.test");
        assert_eq!(url("h.test#a://b").unwrap().to_string(), "http://h.test/");
        assert!(url("http://a b/").unwrap_err().contains("the host \"a b\""));
        assert!(url("http://::1/").unwrap_err().contains("ambiguous"));
        for bad in [
            "ftp://h.test/",
            "http://",
            "http://h.test:0/",
            "http://h.test:65536/",
            "http://h.test:/",
            "http://u:p@h.test/",
            "http://::1/",
            "http://h.test/a b",
        ] {
            assert!(url(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn timeouts_and_durations() {
        assert_eq!(timeout("3"), Ok(Duration::from_secs(3)));
        for bad in ["", "0", "0ms", "-1", "-1s", "1e3", "abc", ".", "1.2.3"] {
            assert!(timeout(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(duration("-5ms").is_err());
        assert_eq!(count("3"), Ok(3));
        assert!(count("-1").is_err());
        assert!(count("").is_err());
    }
}
