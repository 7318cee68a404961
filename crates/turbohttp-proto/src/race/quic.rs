//! QUIC in the race: which endpoints are dialed over QUIC, and what the caller's
//! memory of broken QUIC leaves out. The scheduling (QUIC groups first, their TCP
//! twins one attempt delay later, each transport its own slots) is in
//! [`Plan::schedule_twin`](crate::plan::Plan::schedule_twin) and `race/mod.rs`.

use super::Race;
use super::services::ServiceState;
use crate::plan::Transport;
use crate::quic::QuicPolicy;
use crate::service::{Protocols, ServiceInfo, Verdict};

impl Race {
    /// Tells the race the caller can dial QUIC, by `policy`; default: TCP only, and
    /// `h3` is skipped ([`Verdict::QuicOnly`]). With it, `h3` in a used HTTPS record
    /// or an Alt-Svc alternative, when the caller speaks it (`caller` of
    /// [`Race::with_services`] and [`Race::with_alternatives`], which must come after
    /// this call), becomes QUIC endpoints: the record's addresses and port, dialed
    /// over QUIC ([`AttemptRecord::transport`](crate::AttemptRecord::transport),
    /// [`Race::attempt_transport`]). A service's QUIC endpoints are tried first and
    /// its TCP endpoints one attempt delay later (the rule and its timelines are in
    /// the [crate docs](crate)). A caller that speaks only `h3` (`--http3-only`)
    /// dials nothing over TCP, and the origin's own addresses over QUIC;
    /// [`QuicPolicy::origin`] adds them as QUIC endpoints ahead of TCP (`--http3`).
    /// When [`QuicPolicy::remembered_broken`] and the caller speaks a TCP protocol,
    /// no QUIC endpoint is planned ([`Race::quic_memory_used`] says if one would
    /// have been). A race over addresses known at its start ([`Race::new`]) takes
    /// none of this.
    pub fn with_quic(mut self, policy: QuicPolicy) -> Self {
        if self.queries.is_empty() {
            return self;
        }
        // The origin's addresses are planned as a group (QUIC, then its TCP twin),
        // which the service path does: give the race one even without an HTTPS query.
        let state = self
            .services
            .get_or_insert_with(|| Box::new(ServiceState::new(None)));
        state.quic = Some(policy);
        self
    }

    /// How attempt `attempt` is dialed (`None`: no such attempt yet).
    pub fn attempt_transport(&self, attempt: usize) -> Option<Transport> {
        self.records.get(attempt).map(|r| r.transport)
    }

    /// Whether the caller's memory of broken QUIC ([`QuicPolicy::remembered_broken`])
    /// left out a QUIC endpoint this race would otherwise have planned: the report
    /// says the memory changed the plan.
    pub fn quic_memory_used(&self) -> bool {
        // QUIC at the origin, asked for, and held back (read now: the caller's
        // protocols may be set after the policy).
        let origin_held = self.quic().is_some_and(|p| p.origin)
            && self.quic_held_back(
                self.services
                    .as_deref()
                    .map_or(Protocols::TCP, |s| s.caller),
            );
        origin_held || self.services.as_deref().is_some_and(|s| s.quic_memory_used)
    }

    fn quic(&self) -> Option<QuicPolicy> {
        self.services.as_deref().and_then(|s| s.quic)
    }

    /// Whether QUIC endpoints may be planned for a caller that speaks `caller`, the
    /// memory aside: the race was told it can dial QUIC, and the caller speaks `h3`.
    fn quic_wanted(&self, caller: Protocols) -> bool {
        self.quic().is_some() && caller.contains(Protocols::H3)
    }

    /// Whether the memory of broken QUIC holds QUIC back for a caller that speaks
    /// `caller`: only while TCP can stand in (with `h3` alone, QUIC is all there is).
    fn quic_held_back(&self, caller: Protocols) -> bool {
        self.quic().is_some_and(|p| p.remembered_broken)
            && !caller.intersection(Protocols::TCP).is_empty()
    }

    /// What the race makes of a record for a caller that speaks `caller`: QUIC
    /// counted when it may be dialed; a use of `h3` the memory holds back is noted.
    pub(super) fn verdict_of(&mut self, info: &ServiceInfo, caller: Protocols) -> Verdict {
        let wanted = self.quic_wanted(caller);
        let held = self.quic_held_back(caller);
        let verdict = info.verdict_dialing(caller, wanted && !held);
        if wanted && held {
            self.note_held(info.verdict_dialing(caller, true));
        }
        verdict
    }

    /// [`Race::verdict_of`] for an Alt-Svc alternative.
    pub(super) fn alt_verdict_of(
        &mut self,
        alt: &crate::alt_svc::AltService,
        caller: Protocols,
    ) -> Verdict {
        let wanted = self.quic_wanted(caller);
        let held = self.quic_held_back(caller);
        let verdict = alt.verdict_dialing(caller, wanted && !held);
        if wanted && held {
            self.note_held(alt.verdict_dialing(caller, true));
        }
        verdict
    }

    fn note_held(&mut self, would_be: Verdict) {
        if matches!(would_be, Verdict::Use(p) if p.contains(Protocols::H3))
            && let Some(state) = self.services.as_deref_mut()
        {
            state.quic_memory_used = true;
        }
    }

    /// How the origin's own addresses (those no record serves) are dialed: over
    /// QUIC when the caller asked for it there or speaks only `h3`, unless the
    /// memory holds it back; over TCP unless the caller speaks only `h3`.
    pub(super) fn origin_transports(&self) -> (bool, bool) {
        let Some(policy) = self.quic() else {
            return (false, true);
        };
        let caller = self
            .services
            .as_deref()
            .map_or(Protocols::TCP, |s| s.caller);
        let tcp = !caller.intersection(Protocols::TCP).is_empty();
        let quic =
            self.quic_wanted(caller) && (policy.origin || !tcp) && !self.quic_held_back(caller);
        (quic, tcp)
    }

    /// [`Race::origin_transports`] as a list, QUIC first.
    pub(super) fn origin_transport_list(&self) -> Vec<Transport> {
        let (quic, tcp) = self.origin_transports();
        let mut list = Vec::with_capacity(2);
        if quic {
            list.push(Transport::Quic);
        }
        if tcp {
            list.push(Transport::Tcp);
        }
        list
    }
}
