//! The HTTPS query in the race (draft-ietf-happy-happyeyeballs-v3 §4 and §5): when
//! attempts may start while it is out (the gate), what its records make of the
//! addresses (endpoints: the record's port and protocols, hints until the A/AAAA
//! answers replace them), in which order, and what a late answer adds; AliasMode
//! records followed (a bounded chain, loops refused) and other target names asked
//! for their own AAAA and A.

use std::net::SocketAddr;
use std::time::Instant;

use super::{Race, family_index};
use crate::AddressFamily;
use crate::dns::{LookupFailure, QueryType, https_query_name};
use crate::plan::{Tag, Transport};
use crate::report::QueryOutcome;
use crate::service::{
    MAX_ALIAS_CHAIN, MAX_SERVICES, MAX_TARGETS, Protocols, ServiceInfo, ServiceRecord, Verdict,
    order_services,
};

/// What a race that sent an HTTPS query knows of it.
#[derive(Debug)]
pub(super) struct ServiceState {
    /// The HTTPS query whose records count: the first, or the last of an alias chain;
    /// `None` when none was sent (a race with only Alt-Svc alternatives).
    query: Option<usize>,
    /// The name whose records those are, when an alias led away from the origin: the
    /// effective target of its "." records.
    owner: Option<String>,
    /// The names aliases led to, in order: the chain's bound and its loops.
    chain: Vec<String>,
    /// The origin's host name in lower case, when the race was told it: the chain's
    /// first name (not counted in its bound), so that an alias back to it is a loop.
    origin: Option<String>,
    /// The names other than the origin whose AAAA and A the race asked.
    targets: Vec<String>,
    /// The origin's port: an endpoint's port when its record names none.
    pub(super) port: u16,
    /// What the caller speaks.
    pub(super) caller: Protocols,
    /// Shuffles records of equal priority.
    seed: u64,
    /// Whether the caller can offer Encrypted Client Hello.
    ech: bool,
    /// Whether attempts may start.
    open: bool,
    /// When the resolution delay that began with the first positive answer ends.
    until: Option<Instant>,
    /// The used records, in the order they are tried (indices into the answer's).
    order: Vec<usize>,
    /// The planned hints an answer did not confirm, never to start.
    retired: Vec<usize>,
    /// The Alt-Svc alternatives the caller gave, each with its verdict; the used
    /// ones (with a rank) are tried first, in the caller's order (`race/alternatives.rs`).
    pub(super) alternatives: Vec<crate::alt_svc::AltServiceRecord>,
    /// Whether, and how, the caller can dial QUIC (`race/quic.rs`); `None`: TCP only.
    /// Here rather than in the race, whose size the connect future carries.
    pub(super) quic: Option<crate::quic::QuicPolicy>,
    /// Whether the QUIC memory left out a QUIC endpoint the race would have planned.
    pub(super) quic_memory_used: bool,
}

impl ServiceState {
    pub(super) fn new(query: Option<usize>) -> Self {
        Self {
            query,
            owner: None,
            chain: Vec::new(),
            origin: None,
            targets: Vec::new(),
            port: 443,
            caller: Protocols::TCP,
            seed: 0,
            ech: false,
            open: false,
            until: None,
            order: Vec::new(),
            retired: Vec::new(),
            alternatives: Vec::new(),
            quic: None,
            quic_memory_used: false,
        }
    }
}

impl ServiceState {
    /// Whether `name` (in lower case) is the one the origin's HTTPS query asks.
    fn is_origin(&self, name: &str) -> bool {
        self.origin
            .as_deref()
            .is_some_and(|host| https_query_name(host, self.port) == name)
    }
}

/// One group of endpoints: one record's (or, with `[Tag::NONE; 2]`, the origin's
/// addresses that no record serves), with the tag of each family's addresses (which
/// says the transport too).
pub(super) struct Group {
    pub(super) tags: [Tag; 2],
    pub(super) addrs: Vec<SocketAddr>,
    /// The TCP endpoints of the service whose QUIC group comes just before: due one
    /// attempt delay after it ([`Plan::schedule_twin`](crate::plan::Plan::schedule_twin)).
    pub(super) twin: bool,
}

impl Group {
    pub(super) fn transport(&self) -> Transport {
        self.tags[0].transport()
    }
}

impl Race {
    /// Reads the HTTPS query's records against the origin's `port` (an endpoint's
    /// port when its record names none), the protocols the caller speaks (`caller`;
    /// a record that shares none of them is skipped), and `seed`, which shuffles
    /// records of equal priority (a fixed seed keeps a test exact). Without an HTTPS
    /// query it changes nothing. The defaults: port 443, `h2` and `http/1.1`, seed 0.
    pub fn with_services(mut self, port: u16, caller: Protocols, seed: u64) -> Self {
        if let Some(state) = self.services.as_deref_mut() {
            state.port = port;
            state.caller = caller;
            state.seed = seed;
        }
        self
    }

    /// Whether the caller can offer Encrypted Client Hello (RFC 9849) with a record's
    /// `ech` configuration; default no, and then `ech` keys are ignored. With it:
    ///
    /// * the records that carry one are tried first, by priority among themselves,
    ///   then the others (the draft's §4.3 lets a client that uses ECH group them
    ///   ahead), and each of their attempts offers it ([`AttemptRecord::ech`]);
    /// * when every used record carries one, the race is SVCB-reliant (RFC 9848
    ///   §4.1): the origin's own addresses, which no record serves, and the Alt-Svc
    ///   alternatives are never dialed, since a connection without ECH would undo
    ///   what ECH hides. Those planned before the records came (after the
    ///   resolution delay, or an alternative known at the start) and not started
    ///   yet are dropped; one already running goes on.
    ///
    /// ```text
    /// t=0  HTTPS, AAAA, A sent
    /// t=2  A: 192.0.2.1 (the origin)          waits for the HTTPS answer (§4.2)
    /// t=5  HTTPS: 1 . ech=… ipv4hint=192.0.2.9
    ///      t=5 attempt 192.0.2.9 [ECH]; 192.0.2.1 is never dialed
    /// ```
    ///
    /// [`AttemptRecord::ech`]: crate::AttemptRecord::ech
    pub fn with_ech(mut self, usable: bool) -> Self {
        if let Some(state) = self.services.as_deref_mut() {
            state.ech = usable;
        }
        self
    }

    /// Tells the race the origin's host name (as the driver asks it), so that an
    /// AliasMode record that leads back to it, at once or after other names, is a
    /// loop ([`Verdict::AliasLoop`]) rather than a hop. The name compared is the one
    /// the origin's HTTPS query asks ([`https_query_name`]: `_PORT._https.host` off
    /// port 443), without case. Without an HTTPS query it changes nothing.
    pub fn with_origin(mut self, host: &str) -> Self {
        if let Some(state) = self.services.as_deref_mut() {
            state.origin = Some(host.to_ascii_lowercase());
        }
        self
    }

    /// The ECH configuration list an attempt offers (its record's `ech`, when the
    /// caller can use it: [`with_ech`](Self::with_ech)); `None` for a plain one.
    pub fn ech_config(&self, attempt: usize) -> Option<&[u8]> {
        let service = self.records.get(attempt)?.service?;
        self.ech_of(Tag::of_service(usize::from(service), false))
    }

    /// The HTTPS query `query` ended: its records, or why it gave none. A record is
    /// used when the race understands every key it makes mandatory and shares a TCP
    /// protocol with the caller ([`ServiceInfo::verdict`]); used records are tried
    /// by priority ([`order_services`]). Reports for other queries, or after the
    /// race, are ignored.
    pub fn handle_services(
        &mut self,
        now: Instant,
        query: usize,
        answer: Result<Vec<ServiceInfo>, LookupFailure>,
    ) {
        self.observe(now);
        if self.outcome.is_some() {
            return;
        }
        let ended = self.offset(now);
        let Some(state) = self.services.as_deref_mut() else {
            return;
        };
        if state.query != Some(query) {
            return;
        }
        let caller = state.caller;
        let record = &mut self.queries[query];
        if record.outcome != QueryOutcome::Pending {
            return;
        }
        record.ended = Some(ended);
        match answer {
            Ok(infos) => {
                let verdicts: Vec<Verdict> =
                    infos.iter().map(|i| self.verdict_of(i, caller)).collect();
                let record = &mut self.queries[query];
                record.outcome = QueryOutcome::Records {
                    records: infos.len(),
                };
                record.services = infos
                    .into_iter()
                    .zip(verdicts)
                    .map(|(info, verdict)| ServiceRecord {
                        info,
                        verdict,
                        rank: None,
                    })
                    .collect();
                self.read_records(query);
            }
            Err(failure) => record.outcome = QueryOutcome::Failed(failure),
        }
        let Some(state) = self.services.as_deref() else {
            return;
        };
        if state.open {
            if self.ech_reliant() {
                // The origin's own endpoints, planned before the records came, must
                // not start now that every record says ECH.
                let attempts = self.plan.attempts();
                let plain = |p: usize| attempts[p].tag.service().is_none();
                let retired: Vec<usize> = self.pending.iter().filter(|&p| plain(p)).collect();
                self.retire_pending(retired);
            }
            // Late: the records' endpoints join the race, after what is planned.
            let at = self.offset(now);
            for group in self.endpoint_groups(false) {
                let transport = group.transport();
                let kept = self.plan.accept_on(group.addrs.into_iter(), transport);
                self.plan_tagged(&kept, at, group.tags);
            }
        }
    }

    /// The records of HTTPS query `query`, just recorded: an AliasMode record is
    /// followed (RFC 9460 §2.4.2: it comes before any ServiceMode record beside it),
    /// else the used records are ordered, and the names they target asked.
    fn read_records(&mut self, query: usize) {
        let records = &self.queries[query].services;
        if let Some(alias) = records.iter().position(|r| r.info.is_alias()) {
            let target = dns_name(&records[alias].info.target);
            let state = self.services.as_deref().expect("an HTTPS query was sent");
            let verdict = match &target {
                None => Verdict::AliasToNothing,
                Some(name) if state.chain.contains(name) || state.is_origin(name) => {
                    Verdict::AliasLoop
                }
                Some(_) if state.chain.len() >= MAX_ALIAS_CHAIN => Verdict::AliasChainTooLong,
                Some(_) => Verdict::Alias,
            };
            let services = &mut self.queries[query].services;
            for (i, record) in services.iter_mut().enumerate() {
                record.verdict = if i == alias {
                    verdict
                } else {
                    Verdict::BesideAlias
                };
            }
            if verdict != Verdict::Alias {
                // The chain is broken: the origin's own addresses are the service's.
                self.services
                    .as_deref_mut()
                    .expect("an HTTPS query was sent")
                    .owner = None;
            }
            if let (Verdict::Alias, Some(name)) = (verdict, target) {
                // The target's HTTPS records, and its addresses (for its "."
                // records, or as a CNAME's when it has none), asked at once.
                let next = self.push_query(QueryType::Https, Some(name.clone()));
                self.ask_addresses_of(&name);
                let state = self
                    .services
                    .as_deref_mut()
                    .expect("an HTTPS query was sent");
                state.chain.push(name.clone());
                state.owner = Some(name);
                state.query = Some(next);
            }
            return;
        }
        let state = self.services.as_deref().expect("an HTTPS query was sent");
        let (seed, owner, ech) = (state.seed, state.owner.clone(), state.ech);
        let infos: Vec<ServiceInfo> = records.iter().map(|r| r.info.clone()).collect();
        let verdicts: Vec<Verdict> = records.iter().map(|r| r.verdict).collect();
        let used = |i: usize| matches!(verdicts[i], Verdict::Use(_));
        let mut order = order_services(&infos, used, seed);
        for &skipped in order.iter().skip(MAX_SERVICES) {
            self.queries[query].services[skipped].verdict = Verdict::TooManyRecords;
        }
        order.truncate(MAX_SERVICES);
        // Each other target name gets its own AAAA and A, up to the bound.
        order.retain(|&i| {
            let Some(name) = dns_name(&infos[i].target).or_else(|| owner.clone()) else {
                return true;
            };
            let asked = self.ask_addresses_of(&name);
            if !asked {
                self.queries[query].services[i].verdict = Verdict::TooManyTargets;
            }
            asked
        });
        if ech {
            // Records with an ECH configuration first (a stable sort: by priority
            // among themselves).
            order.sort_by_key(|&i| infos[i].ech.is_none());
        }
        for (rank, &i) in order.iter().enumerate() {
            self.queries[query].services[i].rank = Some(rank);
        }
        self.services
            .as_deref_mut()
            .expect("an HTTPS query was sent")
            .order = order;
    }

    /// Asks `name`'s AAAA and A (only the requested family's, with one requested),
    /// unless asked already; false when that would be more names than
    /// [`MAX_TARGETS`].
    pub(super) fn ask_addresses_of(&mut self, name: &str) -> bool {
        let state = self.services.as_deref().expect("an HTTPS query was sent");
        if state.targets.iter().any(|t| t == name) {
            return true;
        }
        if state.targets.len() >= MAX_TARGETS {
            return false;
        }
        let leading = self.leading_family();
        let requested = self.plan.requested();
        for family in [leading, leading.other()] {
            if requested.is_none_or(|f| f == family) {
                self.push_query(QueryType::of(family), Some(name.to_owned()));
            }
        }
        let state = self
            .services
            .as_deref_mut()
            .expect("an HTTPS query was sent");
        state.targets.push(name.to_owned());
        true
    }

    /// The name a used record's endpoints are at: its target, or the name whose
    /// records these are ("."); `None` for the origin.
    fn effective_target(&self, info: &ServiceInfo) -> Option<String> {
        let owner = self.services.as_deref().and_then(|s| s.owner.clone());
        dns_name(&info.target).or(owner)
    }

    /// An address answer (already recorded) of a race with an HTTPS query: before
    /// the gate opens it waits in its record; after, its addresses become the
    /// endpoints of each record of the origin ("."), replacing that record's hints of
    /// the family, or, when no used record serves the origin, join as RFC 8305 says.
    pub(super) fn address_answer_with_services(&mut self, query: usize, now: Instant) {
        let Some(state) = self.services.as_deref() else {
            return;
        };
        if !state.open {
            return;
        }
        let kind = self.queries[query].query;
        let name = self.queries[query].name.clone();
        let answered = self.answered(query);
        // Only an answer replaces hints: a failed query (SERVFAIL, a timeout) leaves
        // them standing, as it does before the gate opens.
        let replaces_hints = matches!(self.queries[query].outcome, QueryOutcome::Answered { .. });
        let port = state.port;
        let owner = state.owner.clone();
        let no_records = state.order.is_empty();
        // The alternatives at this name come first (`race/alternatives.rs`), unless
        // every record says ECH, which an alternative does not carry.
        if !self.ech_reliant() {
            self.plan_alternatives_of(name.as_deref(), &answered, now);
        }
        let origin_records: Vec<(usize, u16, Protocols)> = self
            .used_records()
            .filter(|(_, info)| self.effective_target(info) == name)
            .map(|(i, info)| (i, info.port.unwrap_or(port), self.used_protocols(i)))
            .collect();
        if origin_records.is_empty() {
            if name.is_none() && self.ech_reliant() {
                // Every record says ECH: the origin's own addresses are not dialed.
            } else if name.is_none() {
                // The origin's addresses that no record serves: as RFC 8305 says, QUIC
                // (when asked for at the origin) ahead of TCP by the spacing.
                // (The first address is already known: the gate opened on it.)
                let (quic, tcp) = self.origin_transports();
                if quic {
                    let kept = self
                        .plan
                        .accept_on(answered.iter().copied(), Transport::Quic);
                    self.plan_tagged(&kept, self.offset(now), [Tag::NONE.on(Transport::Quic); 2]);
                }
                if tcp {
                    let kept = self.plan.accept(answered.into_iter());
                    self.admit(kind, kept.into(), now);
                }
            } else if name == owner && no_records {
                // Where an alias led, with no record of its own: its addresses, as a
                // CNAME's, at the origin's port.
                let kept = self.plan.accept(answered.into_iter());
                self.plan_tagged(&kept, self.offset(now), [Tag::NONE; 2]);
            }
            return;
        }
        let at = self.offset(now);
        for (i, port, protocols) in origin_records {
            // A hint the answer does not confirm is not dialed any more, and what
            // replaces it is due where it was.
            let attempts = self.plan.attempts();
            let unconfirmed = |p: usize| {
                let a = &attempts[p];
                replaces_hints
                    && a.tag.is_hint()
                    && a.tag.service() == Some(i)
                    && kind.admits(&a.addr)
                    && !answered.iter().any(|x| x.ip() == a.addr.ip())
            };
            let retired: Vec<usize> = self.pending.iter().filter(|&p| unconfirmed(p)).collect();
            self.retire_pending(retired);
            // QUIC first: the TCP endpoints, planned after, are due a spacing later.
            for transport in transports_of(protocols) {
                let endpoints = answered.iter().map(|a| SocketAddr::new(a.ip(), port));
                let kept = self.plan.accept_on(endpoints, transport);
                let tag = Tag::of_service(i, false).on(transport);
                self.plan_tagged(&kept, at, [tag; 2]);
            }
        }
    }

    /// Drops planned attempts that have not started (`retired`: plan indices among
    /// the pending ones): they never start, and the plan's spacing forgets them.
    fn retire_pending(&mut self, retired: Vec<usize>) {
        if retired.is_empty() {
            return;
        }
        self.pending.retain(|p| !retired.contains(&p));
        // Not dialed from here, but not refused either: another source that carries
        // the same endpoint (another target's answer, an ECH record) plans it again.
        self.plan.forget(&retired);
        let state = self
            .services
            .as_deref_mut()
            .expect("an HTTPS query was sent");
        state.retired.extend(retired);
        let all = &state.retired;
        self.plan.retire(|p| all.contains(&p));
    }

    /// Whether the race is SVCB-reliant for ECH (RFC 9848 §4.1): the caller can use
    /// ECH and every used record carries a configuration.
    fn ech_reliant(&self) -> bool {
        let Some(state) = self.services.as_deref() else {
            return false;
        };
        state.ech
            && !state.order.is_empty()
            && self.used_records().all(|(_, info)| info.ech.is_some())
    }

    /// Whether query `query` is asked for a name the alias chain has moved on from:
    /// neither the current HTTPS query, nor where the chain led, nor a used record's
    /// target. Its answer would plan nothing, so the race does not wait for it (an
    /// answer that still comes is recorded, and dials nothing). The origin's own
    /// queries always count: its addresses are the fallback.
    pub(super) fn superseded(&self, query: usize) -> bool {
        let (Some(state), Some(name)) = (self.services.as_deref(), &self.queries[query].name)
        else {
            return false;
        };
        // Names are kept in lower case ([`dns_name`]); a record's target may not be.
        state.query != Some(query)
            && state.owner.as_ref() != Some(name)
            && !state.alternatives.iter().any(|a| {
                a.rank.is_some()
                    && a.alt
                        .host
                        .as_deref()
                        .is_some_and(|h| h.eq_ignore_ascii_case(name))
            })
            && !self.used_records().any(|(_, info)| {
                info.target
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(name))
            })
    }

    /// When the gate opens at the latest, while it is closed (with racing disabled
    /// only the last answer opens it: no deadline of its own).
    pub(super) fn gate_until(&self) -> Option<Instant> {
        let racing = self.plan.options().enable;
        self.services
            .as_deref()
            .filter(|s| !s.open && racing)
            .and_then(|s| s.until)
    }

    /// Opens the gate when the draft's §4.2 says attempts may start: a positive
    /// answer (addresses, or a used record's hints) and the preferred family's answer
    /// (or hints of it) and the HTTPS answer (or its failure); or a positive answer and the resolution
    /// delay since it came. With racing disabled, when every query has ended.
    pub(super) fn check_gate(&mut self) {
        let Some(state) = self.services.as_deref() else {
            return;
        };
        if state.open {
            return;
        }
        let https_ended = state
            .query
            .is_none_or(|q| self.queries[q].outcome != QueryOutcome::Pending);
        let positive = self.positive_known();
        // Once the records are in, what starts the race at once is an address of the
        // service they name; the origin's own (if no record serves it) only after the
        // resolution delay.
        let service_positive = !https_ended || self.service_addresses_known();
        let all_ended = self.all_queries_ended();
        let enable = self.plan.options().enable;
        // Hints count as the preferred family's answer until the answer comes.
        let leading = self.leading_family();
        let preferred_known = self.plan_follows_resolver()
            || !self.preferred_query_pending()
            || self.used_records().any(|(_, info)| {
                info.hints()
                    .any(|ip| AddressFamily::of(&SocketAddr::new(ip, 0)) == leading)
            });
        let alternatives_ready = self.alternatives_ready();
        let (now, delay) = (self.now, self.plan.options().resolution_delay);
        let at = self.offset(now);
        let state = self.services.as_deref_mut().expect("checked above");
        if positive && state.until.is_none() {
            state.until = now.checked_add(delay);
            self.first_answer.get_or_insert(at);
        }
        let delay_over = state.until.is_some_and(|until| until <= now);
        // With alternatives, one whose addresses are known starts the race: they are
        // tried first whatever the HTTPS records say, so nothing waits for those.
        let service_ready =
            alternatives_ready.unwrap_or(https_ended && preferred_known && service_positive);
        let open = all_ended || (enable && positive && (service_ready || delay_over));
        if open {
            state.open = true;
            self.open_gate();
        }
    }

    /// Whether an address of the service the records name is known: an answer or a
    /// hint for a used record's target (the origin's answers, for a record of the
    /// origin), or an answer for the name an alias led to; with no record and no
    /// alias, any address.
    fn service_addresses_known(&self) -> bool {
        let state = self.services.as_deref().expect("an HTTPS query was sent");
        let requested = self.plan.requested();
        let wanted = |a: &SocketAddr| requested.is_none_or(|f| AddressFamily::of(a) == f);
        let known = |name: Option<&str>| {
            self.answers_of(name)
                .iter()
                .flatten()
                .any(|list| list.iter().any(wanted))
        };
        if state.order.is_empty() {
            return match &state.owner {
                Some(owner) => known(Some(owner)),
                None => true,
            };
        }
        self.used_records().any(|(_, info)| {
            info.hints().any(|ip| wanted(&SocketAddr::new(ip, 0)))
                || known(self.effective_target(info).as_deref())
        })
    }

    /// Plans every endpoint known, group by group.
    fn open_gate(&mut self) {
        let at = self.offset(self.now);
        let first_new = self.plan.attempts().len();
        // When the QUIC group just planned was due: its TCP twin follows from there.
        let mut lead = None;
        for group in self.endpoint_groups(true) {
            let transport = group.transport();
            let kept = self.plan.accept_on(group.addrs.into_iter(), transport);
            if kept.is_empty() {
                continue;
            }
            match lead.filter(|_| group.twin) {
                Some(lead) => self.plan.schedule_twin(&kept, at, lead, group.tags),
                None => {
                    let due = self.plan.schedule_group(&kept, at, group.tags);
                    lead = (transport == Transport::Quic).then_some(due);
                }
            }
        }
        let last_new = self.plan.attempts().len();
        self.merge_pending(first_new..last_new);
        self.rebudget();
        self.dirty = true;
    }

    /// Whether an address of the requested family is known: in an address answer,
    /// or among a used record's hints.
    fn positive_known(&self) -> bool {
        let requested = self.plan.requested();
        let wanted = |ip: std::net::IpAddr| {
            requested.is_none_or(|f| AddressFamily::of(&SocketAddr::new(ip, 0)) == f)
        };
        let answered =
            (0..self.queries.len()).any(|q| self.answered(q).iter().any(|a| wanted(a.ip())));
        answered
            || self.alternative_literals().any(wanted)
            || self
                .used_records()
                .any(|(_, info)| info.hints().any(wanted))
    }

    /// The used records, in the order tried, with their index in the answer.
    fn used_records(&self) -> impl Iterator<Item = (usize, &ServiceInfo)> + '_ {
        let state = self.services.as_deref();
        let order = state.map(|s| s.order.as_slice()).unwrap_or_default();
        let records = state
            .and_then(|s| s.query)
            .map_or(&[][..], |q| &self.queries[q].services[..]);
        order.iter().map(move |&i| (i, &records[i].info))
    }

    /// The addresses of `name` (`None`: the origin) of each family, from the address
    /// queries that have answered (`None` for a family no query has answered yet).
    pub(super) fn answers_of(&self, name: Option<&str>) -> [Option<Vec<SocketAddr>>; 2] {
        let mut answers: [Option<Vec<SocketAddr>>; 2] = [None, None];
        for (q, record) in self.queries.iter().enumerate() {
            if !matches!(record.outcome, QueryOutcome::Answered { .. })
                || record.name.as_deref() != name
            {
                continue;
            }
            let families = match record.query.family() {
                Some(family) => vec![family],
                // A one-shot lookup (an HTTPS answer is never `Answered`).
                None => vec![AddressFamily::V6, AddressFamily::V4],
            };
            let addrs = self.answered(q);
            for family in families {
                answers[family_index(family)]
                    .get_or_insert_with(Vec::new)
                    .extend(addrs.iter().filter(|a| AddressFamily::of(a) == family));
            }
        }
        answers
    }

    /// The endpoints known, grouped and in order: each used record's (its port; the
    /// answers of the name it targets, "." being the origin or where an alias led, or
    /// its hints until that family answers); then, where an alias led to a name with
    /// no record, that name's addresses; then, with `unassociated` and when no used
    /// record serves the origin, the origin's own addresses (RFC 8305's endpoints,
    /// last).
    fn endpoint_groups(&self, unassociated: bool) -> Vec<Group> {
        let Some(state) = self.services.as_deref() else {
            return Vec::new();
        };
        // The alternatives' groups first; they never stand for the origin's own
        // addresses (RFC 7838 §2.4: the origin stays a fallback). Not when every
        // record says ECH: an alternative carries none.
        let mut groups = if self.ech_reliant() {
            Vec::new()
        } else {
            self.alternative_groups()
        };
        let mut origin_served = false;
        for (i, info) in self.used_records() {
            let port = info.port.unwrap_or(state.port);
            let target = self.effective_target(info);
            origin_served |= target.is_none();
            let answers = self.answers_of(target.as_deref());
            let protocols = self.used_protocols(i);
            let mut tags = [Tag::NONE; 2];
            let mut addrs = Vec::new();
            for family in [AddressFamily::V6, AddressFamily::V4] {
                let real = answers[family_index(family)].as_ref();
                tags[family_index(family)] = Tag::of_service(i, real.is_none());
                match real {
                    Some(list) => addrs.extend(list.iter().map(|a| SocketAddr::new(a.ip(), port))),
                    None => addrs.extend(
                        info.hints()
                            .filter(|ip| AddressFamily::of(&SocketAddr::new(*ip, 0)) == family)
                            .map(|ip| SocketAddr::new(ip, port)),
                    ),
                }
            }
            push_groups(&mut groups, tags, addrs, transports_of(protocols));
        }
        if let (Some(owner), true) = (&state.owner, state.order.is_empty()) {
            let answers = self.answers_of(Some(owner));
            let addrs = answers.into_iter().rev().flatten().flatten().collect();
            push_groups(
                &mut groups,
                [Tag::NONE; 2],
                addrs,
                self.origin_transport_list(),
            );
        }
        if unassociated && !origin_served && !self.ech_reliant() {
            let answers = self.answers_of(None);
            let addrs = answers.into_iter().rev().flatten().flatten().collect();
            push_groups(
                &mut groups,
                [Tag::NONE; 2],
                addrs,
                self.origin_transport_list(),
            );
        }
        groups
    }

    /// The ECH configuration an endpoint of `tag` offers: its record's, when the
    /// caller can use ECH.
    pub(super) fn ech_of(&self, tag: Tag) -> Option<&[u8]> {
        let state = self.services.as_deref().filter(|s| s.ech)?;
        let record = self.queries[state.query?].services.get(tag.service()?)?;
        match record.verdict {
            Verdict::Use(_) => record.info.ech.as_deref(),
            _ => None,
        }
    }

    /// The protocols an endpoint of `tag` offers: its record's, shared with the
    /// caller's.
    pub(super) fn alpn_of(&self, tag: Tag) -> Option<Protocols> {
        if tag.transport() == Transport::Quic {
            // Whatever it came from (a record, an alternative, the origin): `h3`.
            return Some(Protocols::H3);
        }
        let offered = self.offered_of(tag)?;
        // A QUIC attempt offers `h3`; a TCP one what else its service speaks.
        Some(match tag.transport() {
            Transport::Quic => offered.intersection(Protocols::H3),
            Transport::Tcp => offered.intersection(Protocols::TCP),
        })
    }

    /// The protocols a used record (at `index` of the answer) is used for.
    fn used_protocols(&self, index: usize) -> Protocols {
        self.offered_of(Tag::of_service(index, false))
            .unwrap_or(Protocols::TCP)
    }

    /// The protocols of the record or alternative an endpoint of `tag` serves.
    fn offered_of(&self, tag: Tag) -> Option<Protocols> {
        let state = self.services.as_deref()?;
        if let Some(alternative) = tag.alternative() {
            return match state.alternatives.get(alternative)?.verdict {
                Verdict::Use(protocols) => Some(protocols),
                _ => None,
            };
        }
        let record = self.queries[state.query?].services.get(tag.service()?)?;
        match record.verdict {
            Verdict::Use(protocols) => Some(protocols),
            _ => None,
        }
    }
}

/// The transports a service's protocols are dialed over, QUIC first.
pub(super) fn transports_of(protocols: Protocols) -> Vec<Transport> {
    let mut transports = Vec::with_capacity(2);
    if protocols.contains(Protocols::H3) {
        transports.push(Transport::Quic);
    }
    if !protocols.intersection(Protocols::TCP).is_empty() {
        transports.push(Transport::Tcp);
    }
    transports
}

/// Pushes a service's endpoints as one group per transport (`transports`, QUIC
/// first): with both, the TCP group is the QUIC group's twin.
fn push_groups(
    groups: &mut Vec<Group>,
    tags: [Tag; 2],
    addrs: Vec<SocketAddr>,
    transports: Vec<Transport>,
) {
    let both = transports.len() > 1;
    for transport in transports {
        groups.push(Group {
            tags: tags.map(|t| t.on(transport)),
            addrs: addrs.clone(),
            twin: both && transport == Transport::Tcp,
        });
    }
}

/// A target name as the race compares and asks it: DNS names are case-insensitive, so
/// `CDN.example` and `cdn.example` are one name (one chain hop, one target).
fn dns_name(target: &Option<String>) -> Option<String> {
    target.as_deref().map(str::to_ascii_lowercase)
}
