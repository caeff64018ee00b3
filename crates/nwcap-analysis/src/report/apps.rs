//! What each flow is, for the report: from the inspector's events, a flow's service (from
//! its payload, else from its server's port, marked so), its application details (TLS, QUIC,
//! HTTP, DNS, SSH, RDP) and the name of its remote address (the flow's own SNI or Host, else
//! what the capture shows elsewhere: a DNS answer, another flow's SNI; else a well-known Azure
//! platform address). It owns these rules; it never parses a packet (that is `inspect`) and
//! never writes a byte (that is the writers).

use std::collections::HashMap;

use serde::Serialize;

use crate::decode::{proto, Addr};
use crate::flow::FlowKey;
use crate::inspect::event::{AnswerData, Dns, Event, Hello};
use crate::inspect::{quic, tls, FlowApps, Inspector};

/// A flow's service, remote name and details, oriented: "local" and "remote" as in its row.
#[derive(Debug, Clone, Default)]
pub struct AppView {
    /// `dns`, `tls`, `quic`, `http`, `ssh`, `rdp`, or a name from the server's port.
    pub service: Option<&'static str>,
    /// Whether [`AppView::service`] comes from the port alone.
    pub service_by_port: Option<bool>,
    /// The remote address's name.
    pub remote_name: Option<Box<str>>,
    /// Where it comes from: `sni`, `http`, `dns` or `azure`.
    pub remote_name_source: Option<&'static str>,
    /// What the payload said.
    pub app: Option<AppRow>,
}

/// A flow's application details: one key per protocol seen.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AppRow {
    /// TLS over TCP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsRow>,
    /// QUIC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quic: Option<QuicRow>,
    /// HTTP/1.x.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpRow>,
    /// DNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsRow>,
    /// SSH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshRow>,
    /// RDP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdp: Option<RdpRow>,
}

/// A TLS handshake as seen.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TlsRow {
    /// The ClientHello's server name.
    pub sni: Option<Box<str>>,
    /// The highest version the client offered.
    pub version_offered: Option<&'static str>,
    /// ALPN protocols offered.
    pub alpn_offered: Vec<Box<str>>,
    /// The version the server chose.
    pub version: Option<&'static str>,
    /// The ALPN protocol the server chose, where visible (TLS 1.2).
    pub alpn: Option<Box<str>>,
    /// Alerts in the clear, in order.
    pub alerts: Vec<AlertRow>,
}

/// A TLS alert.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AlertRow {
    /// `local` or `remote`: who sent it.
    pub from: &'static str,
    /// `warning` or `fatal`.
    pub level: &'static str,
    /// Its RFC 8446 name.
    pub description: &'static str,
}

/// A QUIC connection's start.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct QuicRow {
    /// The version of the first long-header packet.
    pub version: Option<&'static str>,
    /// The client Initial's server name.
    pub sni: Option<Box<str>>,
    /// ALPN protocols offered.
    pub alpn_offered: Vec<Box<str>>,
}

/// The first HTTP/1.x request and response.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct HttpRow {
    /// The request method.
    pub method: Option<Box<str>>,
    /// The Host header.
    pub host: Option<Box<str>>,
    /// The request target (cut to 128 bytes).
    pub path: Option<Box<str>>,
    /// The first response's status code.
    pub status: Option<u16>,
}

/// A flow's DNS messages.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DnsRow {
    /// Questions asked (of the examined messages), in order.
    pub queries: Vec<QueryRow>,
    /// The first response's rcode.
    pub rcode: Option<&'static str>,
    /// A, AAAA and CNAME answers of the examined responses.
    pub answers: Vec<AnswerRow>,
    /// Queries sent (all of them).
    pub query_count: u32,
    /// Responses sent (all of them).
    pub response_count: u32,
    /// Examined queries whose id no examined response carried.
    pub unanswered: u32,
}

/// A DNS question.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QueryRow {
    /// The name.
    pub name: Box<str>,
    /// Its type (`A`, `AAAA`, … or `TYPEn`).
    #[serde(rename = "type")]
    pub qtype: String,
}

/// A DNS answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AnswerRow {
    /// The owner name.
    pub name: Box<str>,
    /// `A`, `AAAA` or `CNAME`.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Seconds.
    pub ttl: u32,
    /// The address or canonical name.
    pub data: String,
}

/// Both SSH identification lines.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SshRow {
    /// The client's (the side that sent first, or the connection's initiator).
    pub client: Option<Box<str>>,
    /// The server's.
    pub server: Option<Box<str>>,
}

/// An RDP connection request.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RdpRow {
    /// The `mstshash` cookie or routing token.
    pub cookie: Option<Box<str>>,
    /// The security protocols requested.
    pub requested_protocols: Vec<&'static str>,
}

/// Well-known Azure platform addresses (Azure documentation: "What is IP address
/// 168.63.129.16?" and "Azure Instance Metadata Service").
const AZURE: [([u8; 4], &str); 2] = [
    (
        [168, 63, 129, 16],
        "Azure platform (DNS, DHCP, health probes, WireServer)",
    ),
    ([169, 254, 169, 254], "Azure Instance Metadata Service"),
];

/// The name of a well-known Azure platform address.
pub fn azure_name(a: &Addr) -> Option<&'static str> {
    let [x, y, z, w, ..] = a.bytes;
    (!a.v6)
        .then(|| AZURE.iter().find(|(ip, _)| *ip == [x, y, z, w]))
        .flatten()
        .map(|(_, n)| *n)
}

/// Names of remote addresses from the whole capture: a ClientHello's SNI or an HTTP Host sent
/// to the address, or a DNS answer that mapped a name to it. Per address the source ranks
/// (SNI, HTTP, DNS), then the name most flows gave, then the smallest.
#[derive(Debug, Default)]
pub struct Names {
    by_addr: HashMap<Addr, (Box<str>, &'static str)>,
}

impl Names {
    /// The names the inspector's flows show.
    pub fn of(inspector: &Inspector) -> Names {
        // (address, rank, name) -> flows.
        let mut seen: HashMap<(Addr, u8, Box<str>), u32> = HashMap::new();
        for (key, f) in inspector.iter() {
            let k = key.unpack();
            let ends = [k.lo.0, k.hi.0];
            for (dir, e) in &f.events {
                let to = ends[1 - usize::from(dir & 1)];
                match e {
                    Event::ClientHello(h) => {
                        if let Some(sni) = &h.sni {
                            *seen.entry((to, 0, sni.clone())).or_default() += 1;
                        }
                    }
                    Event::Request(r) => {
                        if let Some(host) = &r.host {
                            *seen.entry((to, 1, host_only(host).into())).or_default() += 1;
                        }
                    }
                    Event::Dns(d) if d.response => {
                        let Some((q, _)) = d.questions.first() else {
                            continue;
                        };
                        for a in &d.answers {
                            if let AnswerData::Addr(ip) = a.data {
                                *seen.entry((Addr::from(ip), 2, q.clone())).or_default() += 1;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut best: HashMap<Addr, (u8, u32, Box<str>)> = HashMap::new();
        for ((addr, rank, name), n) in seen {
            let better = match best.get(&addr) {
                None => true,
                Some((r, m, old)) => {
                    (rank, std::cmp::Reverse(n), &name) < (*r, std::cmp::Reverse(*m), old)
                }
            };
            if better {
                best.insert(addr, (rank, n, name));
            }
        }
        const SOURCES: [&str; 3] = ["sni", "http", "dns"];
        Names {
            by_addr: best
                .into_iter()
                .map(|(a, (rank, _, name))| (a, (name, SOURCES[usize::from(rank)])))
                .collect(),
        }
    }

    /// The name of `a` and its source, if the capture (or Azure) gives one.
    pub fn get(&self, a: &Addr) -> Option<(&str, &'static str)> {
        self.by_addr
            .get(a)
            .map(|(n, s)| (&**n, *s))
            .or_else(|| azure_name(a).map(|n| (n, "azure")))
    }

    /// Whether there is no name from the capture.
    pub fn is_empty(&self) -> bool {
        self.by_addr.is_empty()
    }
}

/// A Host header without its port: `name:8080` → `name`, `[2001:db8::1]:443` →
/// `[2001:db8::1]`; anything else as it is.
fn host_only(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, _)) if h.starts_with('[') && h.ends_with(']') => h,
        Some((h, port))
            if !h.contains(':')
                && !h.ends_with(']')
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            h
        }
        _ => host,
    }
}

/// A flow's view: `local` is the local endpoint's index in the key's (lo, hi) order,
/// `initiator` the TCP initiator's, if known.
pub fn view(
    k: &FlowKey,
    apps: Option<&FlowApps>,
    names: &Names,
    local: usize,
    initiator: Option<usize>,
) -> AppView {
    let remote = 1 - local;
    let ends = [k.lo, k.hi];
    let mut v = AppView::default();
    if let Some(f) = apps {
        let (row, service) = details(f, local, initiator);
        if let Some(s) = service {
            v.service = Some(s);
            v.service_by_port = Some(false);
        }
        // The flow's own name for its remote side: a hello or request it sent there.
        let own = f.events.iter().find_map(|(dir, e)| {
            if usize::from(dir & 1) != local {
                return None;
            }
            match e {
                Event::ClientHello(h) => h.sni.as_deref().map(|n| (n.to_owned(), "sni")),
                Event::Request(r) => r.host.as_deref().map(|h| (host_only(h).to_owned(), "http")),
                _ => None,
            }
        });
        if let Some((n, s)) = own {
            v.remote_name = Some(n.into());
            v.remote_name_source = Some(s);
        }
        v.app = (row != AppRow::default()).then_some(row);
    }
    if v.service.is_none() {
        if let Some(s) = by_port(k, local, initiator) {
            v.service = Some(s);
            v.service_by_port = Some(true);
        }
    }
    if v.remote_name.is_none() {
        if let Some((n, s)) = names.get(&ends[remote].0) {
            v.remote_name = Some(n.into());
            v.remote_name_source = Some(s);
        }
    }
    v
}

/// The application details of a flow's events, and the service the first message names.
fn details(f: &FlowApps, local: usize, initiator: Option<usize>) -> (AppRow, Option<&'static str>) {
    let mut row = AppRow::default();
    let mut service = None;
    let side = |dir: u8| {
        if usize::from(dir & 1) == local {
            "local"
        } else {
            "remote"
        }
    };
    let mut queries: Vec<&Dns> = Vec::new();
    let mut responses: Vec<&Dns> = Vec::new();
    // Who sent the first SSH line, when the initiator is not known.
    let mut ssh_first = None;
    for (dir, e) in &f.events {
        let name = match e {
            Event::Nothing => continue,
            Event::ClientHello(h) if h.quic.is_some() => {
                let q = row.quic.get_or_insert_with(QuicRow::default);
                hello_into_quic(q, h);
                "quic"
            }
            Event::Quic { version } => {
                let q = row.quic.get_or_insert_with(QuicRow::default);
                q.version.get_or_insert(quic::version_name(*version));
                "quic"
            }
            Event::ClientHello(h) => {
                let t = row.tls.get_or_insert_with(TlsRow::default);
                if t.sni.is_none() && t.version_offered.is_none() {
                    t.sni = h.sni.clone();
                    t.version_offered = Some(tls::version_name(h.version));
                    t.alpn_offered = h.alpn.clone();
                }
                "tls"
            }
            Event::ServerHello { version, alpn } => {
                let t = row.tls.get_or_insert_with(TlsRow::default);
                if t.version.is_none() {
                    t.version = Some(tls::version_name(*version));
                    t.alpn = alpn.clone();
                }
                "tls"
            }
            Event::Alert { level, description } => {
                let t = row.tls.get_or_insert_with(TlsRow::default);
                t.alerts.push(AlertRow {
                    from: side(*dir),
                    level: if *level == 2 { "fatal" } else { "warning" },
                    description: tls::alert_name(*description),
                });
                "tls"
            }
            Event::Request(r) => {
                let h = row.http.get_or_insert_with(HttpRow::default);
                if h.method.is_none() {
                    h.method = Some(r.method.clone());
                    h.host = r.host.clone();
                    h.path = Some(r.path.clone());
                }
                "http"
            }
            Event::Response(status) => {
                let h = row.http.get_or_insert_with(HttpRow::default);
                h.status.get_or_insert(*status);
                "http"
            }
            Event::Dns(d) => {
                if d.response {
                    responses.push(d);
                } else {
                    queries.push(d);
                }
                "dns"
            }
            Event::Ssh(line) => {
                let client = match initiator {
                    Some(i) => usize::from(dir & 1) == i,
                    None => *ssh_first.get_or_insert(*dir) == *dir,
                };
                let s = row.ssh.get_or_insert_with(SshRow::default);
                let slot = if client { &mut s.client } else { &mut s.server };
                slot.get_or_insert_with(|| line.clone());
                "ssh"
            }
            Event::Rdp { cookie, protocols } => {
                let r = row.rdp.get_or_insert_with(RdpRow::default);
                if r.cookie.is_none() && r.requested_protocols.is_empty() {
                    r.cookie = cookie.clone();
                    r.requested_protocols = protocols.map(rdp_protocols).unwrap_or_default();
                }
                "rdp"
            }
        };
        service.get_or_insert(name);
    }
    if !queries.is_empty() || !responses.is_empty() || f.dns_messages != [[0; 2]; 2] {
        row.dns = Some(dns_row(f, &queries, &responses));
    }
    (row, service)
}

fn hello_into_quic(q: &mut QuicRow, h: &Hello) {
    if let Some(v) = h.quic {
        q.version.get_or_insert(quic::version_name(v));
    }
    if q.sni.is_none() && q.alpn_offered.is_empty() {
        q.sni = h.sni.clone();
        q.alpn_offered = h.alpn.clone();
    }
}

fn dns_row(f: &FlowApps, queries: &[&Dns], responses: &[&Dns]) -> DnsRow {
    let mut row = DnsRow::default();
    // The side that asks: its messages are queries. Counted over both directions.
    for d in &f.dns_messages {
        row.query_count += d[0];
        row.response_count += d[1];
    }
    let asked = if queries.is_empty() {
        responses
    } else {
        queries
    };
    for d in asked {
        for (name, t) in &d.questions {
            row.queries.push(QueryRow {
                name: name.clone(),
                qtype: crate::inspect::dns::type_name(*t).to_string(),
            });
        }
    }
    row.rcode = responses
        .first()
        .map(|d| crate::inspect::dns::rcode_name(d.rcode));
    for d in responses {
        for a in &d.answers {
            row.answers.push(AnswerRow {
                name: a.name.clone(),
                rtype: crate::inspect::dns::type_name(a.rtype).to_string(),
                ttl: a.ttl,
                data: a.data.to_string(),
            });
        }
    }
    row.unanswered = queries
        .iter()
        .filter(|q| !responses.iter().any(|r| r.id == q.id))
        .count() as u32;
    row
}

/// RDP's requested protocol flags (MS-RDPBCGR 2.2.1.1.1), by name.
fn rdp_protocols(flags: u32) -> Vec<&'static str> {
    const NAMES: [(u32, &str); 5] = [
        (0x1, "ssl"),
        (0x2, "hybrid"),
        (0x4, "rdstls"),
        (0x8, "hybrid_ex"),
        (0x10, "rdsaad"),
    ];
    if flags == 0 {
        return vec!["rdp"];
    }
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// Services by port (IANA's names, in nwcap's words where a parser has one), TCP and UDP.
const PORTS: [(u16, u8, &str); 40] = {
    const T: u8 = proto::TCP;
    const U: u8 = proto::UDP;
    [
        (20, T, "ftp-data"),
        (21, T, "ftp"),
        (22, T, "ssh"),
        (23, T, "telnet"),
        (25, T, "smtp"),
        (53, T, "dns"),
        (53, U, "dns"),
        (67, U, "dhcp"),
        (68, U, "dhcp"),
        (80, T, "http"),
        (88, T, "kerberos"),
        (88, U, "kerberos"),
        (110, T, "pop3"),
        (123, U, "ntp"),
        (135, T, "msrpc"),
        (137, U, "netbios-ns"),
        (138, U, "netbios-dgm"),
        (139, T, "netbios-ssn"),
        (143, T, "imap"),
        (161, U, "snmp"),
        (389, T, "ldap"),
        (389, U, "ldap"),
        (443, T, "tls"),
        (443, U, "quic"),
        (445, T, "smb"),
        (465, T, "smtps"),
        (514, U, "syslog"),
        (587, T, "smtp"),
        (636, T, "ldaps"),
        (993, T, "imaps"),
        (1433, T, "mssql"),
        (3306, T, "mysql"),
        (3389, T, "rdp"),
        (3389, U, "rdp"),
        (5353, U, "mdns"),
        (5432, T, "postgresql"),
        (5985, T, "winrm"),
        (5986, T, "winrm"),
        (6379, T, "redis"),
        (8080, T, "http"),
    ]
};

/// The service the server's port names: the port the initiator connected to, else the
/// remote port, else the local one.
fn by_port(k: &FlowKey, local: usize, initiator: Option<usize>) -> Option<&'static str> {
    if !k.ports_known {
        return None;
    }
    let ends = [k.lo.1, k.hi.1];
    let find = |p: u16| {
        PORTS
            .iter()
            .find(|(port, pr, _)| *port == p && *pr == k.proto)
            .map(|(_, _, n)| *n)
    };
    match initiator {
        Some(i) => find(ends[1 - i]),
        None => find(ends[1 - local]).or_else(|| find(ends[local])),
    }
}

/// The inspector's record of the flow `k`, if any.
pub fn apps_of<'i>(inspector: &'i Inspector, k: &FlowKey) -> Option<&'i FlowApps> {
    if inspector.is_empty() {
        return None;
    }
    inspector.get(&k.pack())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_host_loses_its_port_only() {
        for (host, want) in [
            ("bro.org", "bro.org"),
            ("bro.org:8080", "bro.org"),
            ("[2001:db8::1]:443", "[2001:db8::1]"),
            ("[2001:db8::1]", "[2001:db8::1]"),
            ("2001:db8::1", "2001:db8::1"),
            ("bro.org:http", "bro.org:http"),
        ] {
            assert_eq!(super::host_only(host), want, "{host}");
        }
    }
}
