//! The report's `services` and `dns` sections: per service, the flows, bytes and remote
//! names of the selected flows; per DNS name asked, its queries, rcodes, answers and
//! failures. It owns these sums; the per-flow view they sum is `apps`'.

use std::collections::{BTreeMap, HashMap};

use super::apps::{self, Names};
use super::build::orient;
use super::model::{DnsName, DnsSummary, ServiceRow};
use crate::flow::FlowList;
use crate::inspect::Inspector;
use crate::pass::LocalSet;

/// Remote names listed per service.
const NAMES_PER_SERVICE: usize = 10;
/// DNS names listed.
const DNS_NAMES: usize = 100;
/// Answers listed per DNS name.
const ANSWERS_PER_NAME: usize = 8;

/// The `services` and `dns` sections over `flows`.
pub(super) fn of(
    flows: &FlowList<'_>,
    inspector: &Inspector,
    names: &Names,
    local_set: &LocalSet<'_>,
) -> (Vec<ServiceRow>, DnsSummary) {
    struct Sums {
        flows: u64,
        bytes: u64,
        names: HashMap<Box<str>, u64>,
    }
    let mut services: HashMap<(&'static str, bool), Sums> = HashMap::new();
    let mut dns = DnsSummary::default();
    let mut asked: HashMap<(Box<str>, String), DnsName> = HashMap::new();
    for (k, s) in flows.iter() {
        let (local, initiator) = orient(&k, s, local_set);
        let view = apps::view(&k, apps::apps_of(inspector, &k), names, local, initiator);
        if let Some(service) = view.service {
            let e = services
                .entry((service, view.service_by_port == Some(true)))
                .or_insert_with(|| Sums {
                    flows: 0,
                    bytes: 0,
                    names: HashMap::new(),
                });
            e.flows += 1;
            e.bytes += s.bytes[0] + s.bytes[1];
            if let Some(n) = view.remote_name {
                *e.names.entry(n).or_default() += 1;
            }
        }
        let Some(d) = view.app.and_then(|a| a.dns) else {
            continue;
        };
        dns.queries += u64::from(d.query_count);
        dns.responses += u64::from(d.response_count);
        // The flow's first question stands for its answers and rcode (one per message is
        // the rule).
        let Some(q) = d.queries.first() else {
            continue;
        };
        let e = asked
            .entry((q.name.clone(), q.qtype.clone()))
            .or_insert_with(|| DnsName {
                name: q.name.to_string(),
                qtype: q.qtype.clone(),
                queries: 0,
                rcodes: BTreeMap::new(),
                unanswered: 0,
                answers: Vec::new(),
            });
        e.queries += d.queries.len() as u64;
        if let Some(r) = d.rcode {
            *e.rcodes.entry(r).or_default() += 1;
        }
        e.unanswered += u64::from(d.unanswered);
        for a in &d.answers {
            if e.answers.len() < ANSWERS_PER_NAME && !e.answers.contains(&a.data) {
                e.answers.push(a.data.clone());
            }
        }
    }
    let mut services: Vec<ServiceRow> = services
        .into_iter()
        .map(|((service, by_port), s)| {
            let mut names: Vec<(Box<str>, u64)> = s.names.into_iter().collect();
            names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            ServiceRow {
                service,
                by_port,
                flows: s.flows,
                bytes: s.bytes,
                names: names
                    .into_iter()
                    .take(NAMES_PER_SERVICE)
                    .map(|(n, _)| n.into())
                    .collect(),
            }
        })
        .collect();
    services.sort_by(|a, b| {
        (b.bytes, b.flows, a.service, a.by_port).cmp(&(a.bytes, a.flows, b.service, b.by_port))
    });
    let mut all: Vec<DnsName> = asked.into_values().collect();
    all.sort_by(|a, b| {
        b.queries
            .cmp(&a.queries)
            .then(a.name.cmp(&b.name))
            .then(a.qtype.cmp(&b.qtype))
    });
    dns.failures = all
        .iter()
        .filter(|n| n.unanswered > 0 || n.rcodes.keys().any(|r| *r != "NOERROR"))
        .take(DNS_NAMES)
        .cloned()
        .collect();
    all.truncate(DNS_NAMES);
    dns.names = all;
    (services, dns)
}
