//! What nwcap reads in flows' payloads against what tshark reads there (committed by
//! `scripts/oracle-apps` in `testdata/oracle/apps/`, format in the script's docstring): for
//! every flow tshark shows a value on, nwcap's `app` holds the same. The TLS or QUIC SNI is
//! `app.tls.sni` or `app.quic.sni`; the first HTTP request's method and Host (over TCP: HTTP
//! over UDP, SSDP, is not nwcap's) are `app.http.method` and `.host`; the first DNS message's
//! question names are the first of `app.dns.queries`, the first response's rcode is
//! `app.dns.rcode` and each of its A, AAAA and CNAME answers is in `app.dns.answers`; the SSH
//! identification lines are `app.ssh.client` and `.server`.
//!
//! Where nwcap differs for a documented reason (it examines a flow's first
//! `inspect::EXAMINED` packets, reassembles neither fragments nor TCP, keeps 16 answers a
//! message), the difference is listed in [`EXCEPTIONS`] by file, flow and field, with the
//! reason; an exception no longer needed fails the test too, so the list stays honest. On
//! today's corpus none of those bounds shows (the latest value compared sits in a flow's 11th
//! packet, but pure ACKs are not examined): the only exceptions are mDNS flows. The counts of
//! values compared are exact, so the test cannot pass by comparing nothing.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::support::{corpus_files, nwcap};

/// (file, flow as the oracle's first five columns joined by spaces, field, reason). A field
/// `dns.query` covers each of the message's names (`dns.query[0]`, `[1]`, ...).
const EXCEPTIONS: &[(&str, &str, &str, &str)] = &[
    (
        WS,
        "UDP 192.168.152.23 5353 224.0.0.251 5353",
        "dns.query",
        MDNS,
    ),
    (
        WS,
        "UDP 192.168.152.3 5353 224.0.0.251 5353",
        "dns.query",
        MDNS,
    ),
    (
        WS,
        "UDP 192.168.152.6 5353 224.0.0.251 5353",
        "dns.query",
        MDNS,
    ),
    (
        WS,
        "UDP fe80::102b:d3b5:9b19:219e 5353 ff02::fb 5353",
        "dns.query",
        MDNS,
    ),
    (
        WS,
        "UDP fe80::1882:8be6:400a:4e3 5353 ff02::fb 5353",
        "dns.query",
        MDNS,
    ),
];
const WS: &str = "rusticata__wireshark_samples-test.pcapng";
/// tshark's mDNS dissector shows its questions as `dns.qry.name`; nwcap reads DNS on port 53
/// only (`inspect::screen::DNS_PORT`), mDNS is not its DNS.
const MDNS: &str = "mDNS (UDP 5353): nwcap reads DNS on port 53 only";

/// Values compared and found equal, by field (exceptions not counted).
const COMPARED: &[(&str, usize)] = &[
    ("dns.answer", 16),
    ("dns.query", 23),
    ("dns.rcode", 19),
    ("http.host", 21),
    ("http.method", 27),
    ("sni", 3),
    ("ssh.client", 20),
    ("ssh.server", 21),
];
/// HTTP values tshark shows on UDP flows (SSDP's `NOTIFY`/`M-SEARCH` and their Host), not
/// compared: nwcap reads HTTP/1.x over TCP only.
const HTTP_OVER_UDP: usize = 132;

fn rcode_name(n: &str) -> &'static str {
    match n {
        "0" => "NOERROR",
        "1" => "FORMERR",
        "2" => "SERVFAIL",
        "3" => "NXDOMAIN",
        "4" => "NOTIMP",
        "5" => "REFUSED",
        _ => "?",
    }
}

/// A value of the oracle: who sent it, its packet's index in the flow and frame number.
struct Seen {
    from: String,
    n: usize,
    frame: String,
    value: String,
}

#[test]
fn apps_are_tsharks() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/oracle/apps");
    let mut compared: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut used = vec![false; EXCEPTIONS.len()];
    let mut http_over_udp = 0;
    for file in corpus_files() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let want = std::fs::read_to_string(format!("{dir}/{name}.tsv"))
            .unwrap_or_else(|e| panic!("{name}: run scripts/oracle-apps ({e})"));
        if want.is_empty() {
            continue;
        }
        // (flow, field) -> values, in the oracle's order.
        let mut oracle: BTreeMap<(String, String), Vec<Seen>> = BTreeMap::new();
        for line in want.lines() {
            let c: Vec<&str> = line.splitn(10, '\t').collect();
            assert_eq!(c.len(), 10, "{name}: {line}");
            oracle
                .entry((c[..5].join(" "), c[5].to_string()))
                .or_default()
                .push(Seen {
                    from: c[6].to_string(),
                    n: c[7].parse().unwrap(),
                    frame: c[8].to_string(),
                    value: c[9].to_string(),
                });
        }
        let r = nwcap(&[
            "analyze",
            "--inspect",
            file.to_str().unwrap(),
            "-o",
            "json",
            "-j",
            "1",
        ]);
        assert!(matches!(r.code, 0 | 3), "{name}: {}", r.stderr);
        let json = r.json();
        let mut apps: HashMap<String, Value> = HashMap::new();
        for f in json["flows"].as_array().unwrap() {
            let (Some(lp), Some(rp)) = (f["local_port"].as_u64(), f["remote_port"].as_u64()) else {
                continue;
            };
            let mut ends = [
                (f["local_ip"].as_str().unwrap().to_string(), lp),
                (f["remote_ip"].as_str().unwrap().to_string(), rp),
            ];
            ends.sort();
            let proto = f["protocol"].as_str().unwrap();
            let key = format!(
                "{proto} {} {} {} {}",
                ends[0].0, ends[0].1, ends[1].0, ends[1].1
            );
            assert!(
                apps.insert(key.clone(), f["app"].clone()).is_none(),
                "{name}: two rows for {key}"
            );
        }
        for ((flow, field), seen) in &oracle {
            let Some(app) = apps.get(flow) else {
                failures.push(format!("{name}: {flow}: no such flow in nwcap's report"));
                continue;
            };
            // (what, tshark's value, nwcap's) for each value compared.
            let mut checks: Vec<(String, String, Option<String>)> = Vec::new();
            let s = |v: &Value| v.as_str().map(str::to_string);
            match field.as_str() {
                "sni" => {
                    let got = s(&app["tls"]["sni"]).or_else(|| s(&app["quic"]["sni"]));
                    checks.push((field.clone(), seen[0].value.clone(), got));
                }
                "http.method" | "http.host" if flow.starts_with("UDP ") => {
                    http_over_udp += 1;
                    continue;
                }
                "http.method" => checks.push((
                    field.clone(),
                    seen[0].value.clone(),
                    s(&app["http"]["method"]),
                )),
                "http.host" => checks.push((
                    field.clone(),
                    seen[0].value.clone(),
                    s(&app["http"]["host"]),
                )),
                "dns.query" => {
                    for (i, q) in seen.iter().enumerate() {
                        let got = s(&app["dns"]["queries"][i]["name"]);
                        checks.push((format!("{field}[{i}]"), q.value.clone(), got));
                    }
                }
                "dns.rcode" => {
                    let want = rcode_name(&seen[0].value).to_string();
                    checks.push((field.clone(), want, s(&app["dns"]["rcode"])));
                }
                "dns.answer" => {
                    let answers: Vec<String> = app["dns"]["answers"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|x| {
                                    format!(
                                        "{} {}",
                                        x["type"].as_str().unwrap(),
                                        x["data"].as_str().unwrap()
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    for a in seen {
                        let got = answers.contains(&a.value).then(|| a.value.clone());
                        checks.push((field.clone(), a.value.clone(), got));
                    }
                }
                "ssh.client" => checks.push((
                    field.clone(),
                    seen[0].value.clone(),
                    s(&app["ssh"]["client"]),
                )),
                "ssh.server" => checks.push((
                    field.clone(),
                    seen[0].value.clone(),
                    s(&app["ssh"]["server"]),
                )),
                other => panic!("{name}: unknown field {other}"),
            }
            let counter = field_counter(field);
            for (what, want, got) in checks {
                if got.as_deref() == Some(want.as_str()) {
                    *compared.entry(counter).or_default() += 1;
                    continue;
                }
                let exc = EXCEPTIONS.iter().position(|e| {
                    e.0 == name
                        && e.1 == flow
                        && (e.2 == what || what.starts_with(&format!("{}[", e.2)))
                });
                match exc {
                    Some(i) => used[i] = true,
                    None => failures.push(format!(
                        "{name}: {flow}: {what}: tshark {want:?} (from {}, packet {} of the flow, \
                         frame {}), nwcap {got:?}",
                        seen[0].from, seen[0].n, seen[0].frame
                    )),
                }
            }
        }
    }
    for (i, e) in EXCEPTIONS.iter().enumerate() {
        if !used[i] {
            failures.push(format!("exception no longer needed: {e:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let want: BTreeMap<&str, usize> = COMPARED.iter().copied().collect();
    assert_eq!(compared, want, "values compared, by field");
    assert_eq!(http_over_udp, HTTP_OVER_UDP, "HTTP values on UDP flows");
}

/// The counter a field's comparisons go to.
fn field_counter(field: &str) -> &'static str {
    match field {
        "sni" => "sni",
        "http.method" => "http.method",
        "http.host" => "http.host",
        "dns.query" => "dns.query",
        "dns.rcode" => "dns.rcode",
        "dns.answer" => "dns.answer",
        "ssh.client" => "ssh.client",
        "ssh.server" => "ssh.server",
        _ => unreachable!(),
    }
}
