//! Alt-Svc alternatives (RFC 7838) in the race: the caller's live list, known at the
//! start, turned into endpoint groups the way an HTTPS ServiceMode record is
//! (`race/services.rs`), and tried before them.
//!
//! The rule, in the terms of draft-ietf-happy-happyeyeballs-v3:
//!
//! * **Known at t=0.** The alternatives come from an earlier response of the origin
//!   itself, not from this connect's DNS: nothing is asked for them but the addresses
//!   of a host other than the origin's (that name's AAAA and A, sent at the start, at
//!   most [`MAX_TARGETS`](crate::service::MAX_TARGETS) names, shared with HTTPS
//!   targets). An alternative at an IP literal is an address at once.
//! * **First.** Used alternatives are tried in the caller's order (the header's: RFC
//!   7838 §3 lists them by preference), each one group, before the HTTPS records'
//!   groups (by priority) and the origin's own addresses, which stay the last
//!   fallback (RFC 7838 §2.4): an alternative never stands for the origin the way an
//!   HTTPS record for "." does.
//! * **No wait for HTTPS.** Once an alternative's addresses are known (its preferred
//!   family's answer, or its literal), the race starts: the HTTPS records could only
//!   add groups after it. An HTTPS answer that comes later joins after what is planned.
//!   If no alternative's address is known, the resolution delay since the first
//!   answer still bounds the wait.
//! * **Protocols.** An alternative's one ALPN protocol, if the caller speaks it over
//!   TCP, is the only one its attempts offer; `h3` alone is skipped
//!   ([`Verdict::QuicOnly`], unless the race may dial QUIC: `race/quic.rs`), anything else as
//!   [`Verdict::NoSharedProtocol`]. The alternative's own HTTPS records (RFC 9460
//!   §9.3) are not asked.
//!
//! ```text
//! alt h2=":8443", origin AAAA+A at t=5:  t=5 [v6]:8443 starts; v4:8443 at 255;
//!                                        [v6]:443 at 380, v4:443 at 630 (the origin)
//! alt h2="alt.test:8443", HTTPS out:     t=0 AAAA alt.test, A alt.test sent;
//!                                        t=4 alt.test answers -> [v6 of alt.test]:8443
//!                                        starts, the HTTPS answer not awaited
//! alt h2="192.0.2.7:8443":               t=0 192.0.2.7:8443 starts (no query for it)
//! alt h3=":443":                         skipped: QUIC only; the race as without it
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use super::Race;
use super::services::{Group, ServiceState};
use crate::AddressFamily;
use crate::alt_svc::{AltService, AltServiceRecord, MAX_ALTERNATIVES};
use crate::dns::QueryType;
use crate::plan::{Tag, Transport};
use crate::report::QueryOutcome;
use crate::service::{Protocols, Verdict};

/// Where an alternative's endpoints are.
enum Target {
    /// The origin's own addresses (no host in the alternative).
    Origin,
    /// An IP literal: the one address.
    Literal(IpAddr),
    /// Another name, asked for its own AAAA and A (lower case: DNS names are
    /// case-insensitive).
    Name(String),
}

/// How a used alternative is dialed: QUIC for `h3` (used only when the race may dial
/// it), TCP otherwise.
fn alternative_transport(record: &AltServiceRecord) -> Transport {
    match record.verdict {
        Verdict::Use(p) if p.contains(Protocols::H3) => Transport::Quic,
        _ => Transport::Tcp,
    }
}

fn target_of(alt: &AltService) -> Target {
    let Some(host) = alt.host.as_deref() else {
        return Target::Origin;
    };
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => Target::Literal(ip),
        Err(_) => Target::Name(host.trim_end_matches('.').to_ascii_lowercase()),
    }
}

impl Race {
    /// Gives the race the Alt-Svc alternatives (RFC 7838) the caller holds for this
    /// origin: only live ones (the caller checks `ma`; the core reads no clock), in
    /// the order the origin listed them, each with `host` `None` when it names the
    /// origin's own host. `port` is the origin's and `caller` the protocols the caller
    /// speaks, as in [`Race::with_services`] (give both the same). The rule (tried
    /// first, known at the start, no wait for the HTTPS answer, `h3` skipped) is in
    /// `race/alternatives.rs` and the [crate docs](crate). A race over addresses
    /// known at its start ([`Race::new`]) sends no query and takes none.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use turbohttp_proto::alt_svc::AltService;
    /// use turbohttp_proto::dns::QueryType;
    /// use turbohttp_proto::race::{Event, Race};
    /// use turbohttp_proto::service::Protocols;
    /// use turbohttp_proto::HappyEyeballsOptions;
    ///
    /// let t0 = Instant::now();
    /// let options = HappyEyeballsOptions::default();
    /// let mut race = Race::resolving(&options, None, &[QueryType::AddrInfo], t0, t0 + Duration::from_secs(5))
    ///     .with_alternatives(443, Protocols::TCP, [AltService::new("h2", None, Some(8443))]);
    /// assert_eq!(race.poll_event(), Some(Event::Resolve { query: 0, kind: QueryType::AddrInfo }));
    /// race.handle_answer(t0, 0, Ok(vec!["192.0.2.1:443".parse().unwrap()]));
    /// // The alternative's port first; the origin's own port stays the fallback.
    /// let addr = "192.0.2.1:8443".parse().unwrap();
    /// assert_eq!(race.poll_event(), Some(Event::Start { attempt: 0, addr }));
    /// ```
    pub fn with_alternatives(
        mut self,
        port: u16,
        caller: Protocols,
        alternatives: impl IntoIterator<Item = AltService>,
    ) -> Self {
        let alternatives: Vec<AltService> = alternatives.into_iter().collect();
        let mut records: Vec<AltServiceRecord> = Vec::with_capacity(alternatives.len());
        for alt in alternatives {
            records.push(AltServiceRecord {
                verdict: self.alt_verdict_of(&alt, caller),
                alt,
                rank: None,
            });
        }
        if records.is_empty() || self.queries.is_empty() {
            return self;
        }
        let state = self
            .services
            .get_or_insert_with(|| Box::new(ServiceState::new(None)));
        state.port = port;
        state.caller = caller;
        let mut rank = 0;
        for record in &mut records {
            if !matches!(record.verdict, Verdict::Use(_)) {
                continue;
            }
            if rank >= MAX_ALTERNATIVES {
                record.verdict = Verdict::TooManyRecords;
                continue;
            }
            if let Target::Name(name) = target_of(&record.alt)
                && !self.ask_addresses_of(&name)
            {
                record.verdict = Verdict::TooManyTargets;
                continue;
            }
            record.rank = Some(rank);
            rank += 1;
        }
        let state = self.services.as_deref_mut().expect("made above");
        state.alternatives = records;
        self
    }

    /// The alternatives the race was given, each with what it made of them.
    pub fn alternatives(&self) -> &[AltServiceRecord] {
        self.services
            .as_deref()
            .map_or(&[], |state| &state.alternatives)
    }

    /// The used alternatives, in the order tried, with their index in the list.
    fn used_alternatives(&self) -> impl Iterator<Item = (usize, &AltServiceRecord)> + '_ {
        // Ranks follow the list's order, so the list's order is the order tried.
        self.alternatives()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.rank.is_some())
    }

    /// The addresses the used alternatives name as IP literals.
    pub(super) fn alternative_literals(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.used_alternatives()
            .filter_map(|(_, r)| match target_of(&r.alt) {
                Target::Literal(ip) => Some(ip),
                _ => None,
            })
    }

    /// Whether an alternative's addresses are known as RFC 8305 would start them (an
    /// address of the requested family, and its preferred family answered or
    /// literal); `None` when no alternative is used.
    pub(super) fn alternatives_ready(&self) -> Option<bool> {
        let requested = self.plan.requested();
        let wanted =
            |ip: IpAddr| requested.is_none_or(|f| AddressFamily::of(&SocketAddr::new(ip, 0)) == f);
        let leading = QueryType::of(self.leading_family());
        let settled = |name: Option<&str>| {
            let known = self
                .answers_of(name)
                .iter()
                .flatten()
                .any(|list| list.iter().any(|a| wanted(a.ip())));
            let preferred_pending = self.queries.iter().any(|q| {
                q.query == leading
                    && q.name.as_deref() == name
                    && q.outcome == QueryOutcome::Pending
            });
            known && (self.plan_follows_resolver() || !preferred_pending)
        };
        let mut used = self.used_alternatives().peekable();
        used.peek()?;
        Some(used.any(|(_, r)| match target_of(&r.alt) {
            Target::Literal(ip) => wanted(ip),
            Target::Origin => settled(None),
            Target::Name(name) => settled(Some(&name)),
        }))
    }

    /// Each used alternative's endpoints, one group each, in the order tried: its
    /// host's answers (or the origin's, or its literal) at its port.
    pub(super) fn alternative_groups(&self) -> Vec<Group> {
        let origin_port = self.services.as_deref().map_or(443, |s| s.port);
        self.used_alternatives()
            .map(|(i, r)| {
                let port = r.alt.port.unwrap_or(origin_port);
                let ips: Vec<IpAddr> = match target_of(&r.alt) {
                    Target::Literal(ip) => vec![ip],
                    Target::Origin => self.answered_ips(None),
                    Target::Name(name) => self.answered_ips(Some(&name)),
                };
                let addrs = ips.into_iter().map(|ip| SocketAddr::new(ip, port));
                // An alternative names one protocol: one transport, no twin.
                let tag = Tag::of_alternative(i).on(alternative_transport(r));
                Group {
                    tags: [tag; 2],
                    addrs: addrs.collect(),
                    twin: false,
                }
            })
            .collect()
    }

    /// `name`'s answered addresses, IPv6 first.
    fn answered_ips(&self, name: Option<&str>) -> Vec<IpAddr> {
        let answers = self.answers_of(name);
        let all = answers.into_iter().rev().flatten().flatten();
        all.map(|a| a.ip()).collect()
    }

    /// An answer for `name` (`None`: the origin) after the gate opened: each used
    /// alternative at that name gets its addresses, at its port, before anything
    /// else the answer brings.
    pub(super) fn plan_alternatives_of(
        &mut self,
        name: Option<&str>,
        answered: &[SocketAddr],
        now: Instant,
    ) {
        let origin_port = self.services.as_deref().map_or(443, |s| s.port);
        let at_name: Vec<(usize, u16, Transport)> = self
            .used_alternatives()
            .filter(|(_, r)| match (target_of(&r.alt), name) {
                (Target::Origin, None) => true,
                (Target::Name(n), Some(name)) => n == name,
                _ => false,
            })
            .map(|(i, r)| {
                let port = r.alt.port.unwrap_or(origin_port);
                (i, port, alternative_transport(r))
            })
            .collect();
        let at = self.offset(now);
        for (i, port, transport) in at_name {
            let endpoints = answered.iter().map(|a| SocketAddr::new(a.ip(), port));
            let kept = self.plan.accept_on(endpoints, transport);
            self.plan_tagged(&kept, at, [Tag::of_alternative(i).on(transport); 2]);
        }
    }
}
