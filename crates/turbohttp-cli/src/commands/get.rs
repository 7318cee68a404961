//! `turbohttp get URL`: race, then one HTTP GET through hyper on the transport.

use turbohttp::{AddressFamily, ConnectParams, Connection, DisplayDuration};

use crate::args::GetArgs;
use crate::commands::connect::{TlsSummary, alternatives, finish, present, tls_summary};
use crate::exchange::Exchange;
use crate::exit::{self, CliError};
use crate::options::{self, RaceConfig};
use crate::parse;
use crate::transport::{self, TlsSettings};
use crate::{alt_svc, http, http3, output};

/// Runs `get`.
pub fn run(args: &GetArgs) -> Result<(), CliError> {
    let url = parse::get_url(&args.url, args.port.as_deref())
        .map_err(|e| CliError::usage("URL", format!("{e} (see turbohttp get --help)")))?;
    let mut config = RaceConfig::from_args(&args.race)?;
    config.https_records = !args.resolver.no_https_rr;
    let resolver = options::resolver(&args.resolve, &args.resolver)?;
    for warning in options::unused_resolve_entries(&args.resolve, &url.host.to_string(), url.port) {
        output::warning_line(&warning);
    }
    let tls = TlsSettings {
        cacert: args.cacert.clone(),
        servername: args.servername.clone(),
        alpn: args.versions.tcp_alpn(),
        ca_native: args.ca_native,
        cert: args.cert.clone(),
        key: args.key.clone(),
        min_version: transport::min_version(args.tlsv1_2, args.tlsv1_3),
        no_ech: args.resolver.no_ech,
        roots: Vec::new(),
    };
    let max_time = args
        .max_time
        .as_deref()
        .map(parse::timeout)
        .transpose()
        .map_err(|e| CliError::usage("--max-time", e))?;
    let socket = transport::socket_options(&args.socket)?;
    let dns_servers = options::dns_servers_of(&resolver);
    let transport = transport::build(&config, &tls, &socket, resolver)?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let fetch = fetch(args, &url, &config, &transport, dns_servers.as_deref());
        let Some(limit) = max_time else {
            return fetch.await;
        };
        // Dropping the fetch at the limit closes its connection: nothing stays open.
        tokio::time::timeout(limit, fetch)
            .await
            .unwrap_or_else(|_| {
                Err(CliError::new(
                    exit::TIMEOUT,
                    format!(
                        "the transfer took longer than --max-time {} (operation timed out)",
                        DisplayDuration(limit)
                    ),
                ))
            })
    })
}

async fn fetch(
    args: &GetArgs,
    url: &parse::Url,
    config: &RaceConfig,
    transport: &transport::Transport,
    dns_servers: Option<&str>,
) -> Result<(), CliError> {
    let https = url.scheme.uses_tls();
    // --json alone or with -v: the race as JSON on standard error, the body on stdout.
    let json = args.json;
    let host = url.host.to_string();
    let file = args.resolver.alt_svc.as_deref();
    let (mut cache, alternatives) = alternatives(file, &host, url.port)?;
    let params = ConnectParams::default()
        .with_family(config.family)
        .with_alt_svc(alternatives)
        .with_http3(args.versions.http3());
    // QUIC only for https: an http origin has no TLS for it.
    let result = if https {
        transport
            .connect_any(&host, url.port, params)
            .await
            .map(|won| (won.stream, won.report))
    } else {
        transport
            .connect_with(&host, url.port, url.scheme, params)
            .await
            .map(|won| (Connection::Tcp(won.stream), won.report))
    };
    let (stream, report) = match result {
        Ok(won) => won,
        Err(error) => {
            if args.verbose || json {
                output::stderr(&present(error.report(), Some(&error), config, json, None));
            }
            return finish(Some(&error), https, json)
                .map_err(|e| options::note_dns_servers(e, &error, dns_servers));
        }
    };
    let local = match &stream {
        Connection::Quic(quic) => transport
            .quic_endpoints()
            .local_addr(AddressFamily::of(&quic.peer_addr())),
        Connection::Tcp(tcp) => tcp.local_addr().ok(),
        _ => None,
    };
    let tls = match &stream {
        Connection::Tcp(tcp) => tls_summary(tcp),
        _ => Some(TlsSummary::quic()),
    };
    // A QUIC winner's connection, to close before the command exits.
    let quic_connection = match &stream {
        Connection::Quic(quic) => Some(quic.connection().clone()),
        _ => None,
    };
    let exchange = Exchange::new(stream, url)?;
    let src_alpn = exchange.alpn();
    if args.verbose && !json {
        let mut text = present(&report, None, config, false, None);
        if let Some(tls) = &tls {
            text.push_str(&tls.line());
        }
        text.push_str(&exchange.request_head(url));
        output::stderr(&text);
    }
    let mut extra = serde_json::Map::new();
    extra.insert("url".into(), url.to_string().into());
    if let Some(local) = local {
        extra.insert("local_address".into(), local.to_string().into());
    }
    if let Some(tls) = &tls {
        extra.insert("tls".into(), tls.to_json());
    }
    extra.insert("http_version".into(), exchange.version().into());
    let exchange = async {
        let (response, body) = exchange.send().await?;
        if let Some(path) = file {
            remember_alt_svc(&mut cache, path, &host, url.port, src_alpn, &response);
        }
        if args.verbose && !json {
            output::stderr(&http::response_head(&response));
        }
        extra.insert("http".into(), http::response_json(&response));
        if args.fail && response.status().as_u16() >= 400 {
            return Err(CliError::new(
                exit::HTTP_STATUS,
                format!(
                    "the server answered {}",
                    http::status_text(response.status())
                ),
            ));
        }
        let bytes = match &args.output {
            Some(path) => {
                let mut file = tokio::fs::File::create(path).await.map_err(|e| {
                    CliError::new(
                        exit::WRITE,
                        format!("cannot create {}: {e}", path.display()),
                    )
                })?;
                body.copy_to(&mut file).await?
            }
            None => body.copy_to(&mut tokio::io::stdout()).await?,
        };
        extra.insert("body_bytes".into(), bytes.into());
        Ok(())
    };
    let outcome = match (exchange.await, &quic_connection) {
        (Err(error), Some(connection)) if error.code == exit::HTTP3 => {
            Err(http3::refusal(connection, error))
        }
        (outcome, _) => outcome,
    };
    if let Some(connection) = &quic_connection {
        http3::close(connection).await;
    }
    if json {
        if let Err(error) = &outcome {
            extra.insert(
                "http_error".into(),
                serde_json::json!({ "exit_code": error.code, "message": error.message }),
            );
        }
        output::stderr(&present(&report, None, config, true, Some(extra)));
        return outcome.map_err(CliError::reported);
    }
    outcome
}

/// `--alt-svc FILE`: what the response's `Alt-Svc` header advertises replaces the
/// origin's entries (`clear` removes them) and the file is written; no header, no
/// change. A header that does not parse, or a file that cannot be written, is a
/// warning: the transfer goes on.
fn remember_alt_svc<B>(
    cache: &mut alt_svc::Cache,
    path: &std::path::Path,
    host: &str,
    port: u16,
    src_alpn: &str,
    response: &hyper::Response<B>,
) {
    let values: Vec<String> = response
        .headers()
        .get_all("alt-svc")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    if values.is_empty() {
        return;
    }
    // Several fields are one list (RFC 9110 §5.3).
    let header = match turbohttp::parse_alt_svc(&values.join(", ")) {
        Ok(header) => header,
        Err(e) => return output::warning_line(&format!("Alt-Svc ignored: {e}")),
    };
    cache.update(host, port, src_alpn, &header, alt_svc::now());
    if let Err(e) = cache.save(path) {
        output::warning_line(&e);
    }
}
