//! The DNS lab serves HTTPS records (RFC 9460) that hickory's resolver reads back as
//! served: ServiceMode with every key Happy Eyeballs v3 uses, AliasMode, a record for
//! another port, a chain of aliases, an answer after a delay, and a record whose
//! SvcParams cannot be read. The race's HTTPS query (issue 22) will be tested against
//! these; here the lab itself is.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use turbohttp_lab::dns::{
    Behaviour, DnsLab, EchConfigList, IpHint, Mandatory, SVCB, SvcParamKey, SvcParamValue, Zone,
    alpn, service,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// hickory's resolver, asking the lab only (never resolv.conf), one try.
fn resolver(lab: &DnsLab) -> TokioResolver {
    let addr = lab.addr();
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let config = ResolverConfig::from_parts(
        None,
        Vec::new(),
        vec![NameServerConfig::new(addr.ip(), true, vec![udp])],
    );
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    builder.options_mut().attempts = 1;
    builder.options_mut().timeout = Duration::from_secs(1);
    builder.options_mut().cache_size = 0;
    builder.build().expect("resolver")
}

/// The HTTPS records hickory reads for `name`.
async fn https(resolver: &TokioResolver, name: &str) -> Result<Vec<SVCB>, String> {
    let lookup = resolver
        .lookup(name, RecordType::HTTPS)
        .await
        .map_err(|e| e.to_string())?;
    Ok(lookup
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            RData::HTTPS(https) => Some(https.0.clone()),
            _ => None,
        })
        .collect())
}

fn full_service() -> SVCB {
    service(
        1,
        ".",
        vec![
            (
                SvcParamKey::Mandatory,
                SvcParamValue::Mandatory(Mandatory(vec![SvcParamKey::Port])),
            ),
            alpn(&["h3", "h2"]),
            (SvcParamKey::NoDefaultAlpn, SvcParamValue::NoDefaultAlpn),
            (SvcParamKey::Port, SvcParamValue::Port(8443)),
            (
                SvcParamKey::Ipv4Hint,
                SvcParamValue::Ipv4Hint(IpHint(vec![Ipv4Addr::LOCALHOST.into()])),
            ),
            (
                SvcParamKey::EchConfigList,
                SvcParamValue::EchConfigList(EchConfigList(vec![0xfe, 0x0d, 0, 0])),
            ),
            (
                SvcParamKey::Ipv6Hint,
                SvcParamValue::Ipv6Hint(IpHint(vec![Ipv6Addr::LOCALHOST.into()])),
            ),
        ],
    )
}

#[test]
fn https_records_are_served_as_written() {
    runtime().block_on(async {
        let alias = service(0, "pool.svc.test", Vec::new());
        let lab = DnsLab::start(
            Zone::new()
                .https(
                    "svc.test",
                    Behaviour::Https {
                        records: vec![
                            full_service(),
                            service(2, "backup.svc.test", vec![alpn(&["h2"])]),
                        ],
                        delay: Duration::ZERO,
                    },
                )
                .https(
                    "alias.test",
                    Behaviour::Https {
                        records: vec![alias.clone()],
                        delay: Duration::ZERO,
                    },
                )
                .https(
                    "_8443._https.svc.test",
                    Behaviour::Https {
                        records: vec![service(1, ".", vec![alpn(&["http/1.1"])])],
                        delay: Duration::ZERO,
                    },
                )
                .https(
                    "slow.test",
                    Behaviour::Https {
                        records: vec![full_service()],
                        delay: Duration::from_millis(300),
                    },
                )
                .https("broken.test", Behaviour::MalformedHttps)
                .https("lost.test", Behaviour::Silent),
        )
        .await
        .expect("the lab starts");
        let resolver = resolver(&lab);

        let served = https(&resolver, "svc.test.").await.expect("an answer");
        assert_eq!(served.len(), 2);
        assert_eq!(served[0], full_service());
        assert_eq!(served[1].svc_priority, 2);
        assert_eq!(served[1].target_name.to_ascii(), "backup.svc.test.");

        assert_eq!(
            https(&resolver, "alias.test.").await.expect("an answer"),
            [alias]
        );
        let other_port = https(&resolver, "_8443._https.svc.test.")
            .await
            .expect("an answer");
        assert_eq!(other_port[0].svc_params, [alpn(&["http/1.1"])]);

        let asked = Instant::now();
        assert_eq!(
            https(&resolver, "slow.test.").await.expect("an answer"),
            [full_service()]
        );
        assert!(asked.elapsed() >= Duration::from_millis(300));

        // Refused as unreadable at once, not waited on until the timeout.
        let asked = Instant::now();
        let broken = https(&resolver, "broken.test.")
            .await
            .expect_err("unreadable");
        assert!(broken.contains("decoding error"), "{broken}");
        assert!(asked.elapsed() < Duration::from_secs(1), "not the timeout");
        assert!(https(&resolver, "lost.test.").await.is_err());

        let kinds: Vec<_> = lab.queries().iter().map(|q| q.record_type).collect();
        assert!(kinds.iter().all(|k| *k == RecordType::HTTPS), "{kinds:?}");
    });
}
