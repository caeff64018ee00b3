//! What each flow is, on hand-made captures whose every expected figure is what was put in
//! them: a ClientHello split over two segments and a fatal alert, DNS over UDP and TCP with
//! an NXDOMAIN and a query never answered, the QUIC v1 and v2 client Initials of RFC 9001 and
//! RFC 9369 (Appendix A.2), HTTP, SSH and RDP; names of remote addresses from SNI, DNS and
//! Azure's platform addresses; and payloads cut by the snap length, which give no answer
//! rather than a wrong one.

use serde_json::{json, Value};

use crate::craft::{self, client_hello, dns, dns_name, pcap, tcp_data, udp_data, Rec, ACK, SYN};
use crate::support::nwcap;

const LOCAL: &str = "10.1.0.4";
const PSH: u8 = 0x08;

fn rfc_initial(name: &str) -> Vec<u8> {
    let hex = std::fs::read_to_string(format!(
        "{}/tests/fixtures/quic/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let hex = hex.trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// A TCP handshake from LOCAL:`sport` to `dst`:`dport`, then `data` as (from local?, bytes).
fn tcp_flow(sport: u16, dst: &str, dport: u16, data: &[(bool, &[u8])]) -> Vec<Vec<u8>> {
    let mut p = vec![
        craft::tcp(LOCAL, sport, dst, dport, SYN, 0),
        craft::tcp(dst, dport, LOCAL, sport, SYN | ACK, 0),
        craft::tcp(LOCAL, sport, dst, dport, ACK, 0),
    ];
    let (mut seq_out, mut seq_in) = (1u32, 1u32);
    for (out, bytes) in data {
        if *out {
            p.push(tcp_data(
                LOCAL,
                sport,
                dst,
                dport,
                ACK | PSH,
                seq_out,
                bytes,
            ));
            seq_out += bytes.len() as u32;
        } else {
            p.push(tcp_data(dst, dport, LOCAL, sport, ACK | PSH, seq_in, bytes));
            seq_in += bytes.len() as u32;
        }
    }
    p
}

fn write(
    dir: &tempfile::TempDir,
    name: &str,
    packets: Vec<Vec<u8>>,
    snap: Option<usize>,
) -> String {
    let recs: Vec<Rec> = packets
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let r = Rec::new(1_700_000_000_000_000_000 + i as i64 * 1_000_000, d);
            match snap {
                Some(s) => r.snapped(s),
                None => r,
            }
        })
        .collect();
    let path = dir.path().join(name);
    std::fs::write(
        &path,
        pcap(&recs, false, true, snap.unwrap_or(65535) as u32),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// The flow to `remote`:`port`.
fn flow<'a>(report: &'a Value, remote: &str, port: u64) -> &'a Value {
    report["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["remote_ip"] == remote && f["remote_port"] == port)
        .unwrap_or_else(|| panic!("no flow to {remote}:{port}: {report}"))
}

#[test]
fn flows_say_what_they_are_and_remote_addresses_get_names() {
    let hello = client_hello("login.microsoftonline.com", &["h2", "http/1.1"], 1400);
    let (first, rest) = hello.split_at(700);
    let alert: &[u8] = &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
    let mut packets = tcp_flow(
        50001,
        "20.190.1.1",
        443,
        &[(true, first), (true, rest), (false, alert)],
    );
    // DNS over UDP to Azure's resolver: a CNAME, then the address.
    let query = dns(0x1234, 0x0100, "login.microsoftonline.com", 1, &[]);
    let answer = dns(
        0x1234,
        0x8180,
        "login.microsoftonline.com",
        1,
        &[
            (
                "login.microsoftonline.com",
                5,
                300,
                dns_name("login.mso.msidentity.com"),
            ),
            ("login.mso.msidentity.com", 1, 60, vec![20, 190, 1, 1]),
        ],
    );
    packets.push(udp_data(LOCAL, 40000, "168.63.129.16", 53, &query));
    packets.push(udp_data("168.63.129.16", 53, LOCAL, 40000, &answer));
    // DNS over TCP, with its length prefix; its answer names a server no SNI names.
    let with_len = |m: Vec<u8>| {
        let mut v = (m.len() as u16).to_be_bytes().to_vec();
        v.extend(m);
        v
    };
    let q2 = with_len(dns(7, 0x0100, "api.contoso.com", 1, &[]));
    let a2 = with_len(dns(
        7,
        0x8180,
        "api.contoso.com",
        1,
        &[("api.contoso.com", 1, 60, vec![20, 190, 2, 2])],
    ));
    packets.extend(tcp_flow(
        40001,
        "10.0.0.53",
        53,
        &[(true, &q2), (false, &a2)],
    ));
    packets.extend(tcp_flow(50002, "20.190.2.2", 443, &[(true, &[0; 40])]));
    // NXDOMAIN over IPv6, and a query nobody answered.
    let q3 = dns(9, 0x0100, "nope.contoso.com", 28, &[]);
    let a3 = dns(9, 0x8183, "nope.contoso.com", 28, &[]);
    packets.push(udp_data("2001:db8::4", 40002, "2001:db8::53", 53, &q3));
    packets.push(udp_data("2001:db8::53", 53, "2001:db8::4", 40002, &a3));
    packets.push(udp_data(
        LOCAL,
        40003,
        "10.0.0.53",
        53,
        &dns(11, 0x0100, "slow.contoso.com", 1, &[]),
    ));
    // QUIC: the RFCs' client Initials.
    packets.push(udp_data(
        LOCAL,
        40004,
        "20.190.3.3",
        443,
        &rfc_initial("rfc9001-a2-client-initial.hex"),
    ));
    packets.push(udp_data(
        LOCAL,
        40005,
        "20.190.3.4",
        443,
        &rfc_initial("rfc9369-a2-client-initial.hex"),
    ));
    // HTTP, SSH and RDP.
    let get = b"GET /index.html?q=1 HTTP/1.1\r\nHost: www.contoso.com\r\nUser-Agent: t\r\n\r\n";
    let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    packets.extend(tcp_flow(
        40006,
        "20.190.4.4",
        8000,
        &[(true, get), (false, not_found)],
    ));
    let server = b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n";
    let client = b"SSH-2.0-OpenSSH_9.6\r\n";
    packets.extend(tcp_flow(
        40007,
        "20.190.5.5",
        22,
        &[(false, server), (true, client)],
    ));
    let mut rdp = vec![0x03, 0x00, 0x00, 0x2b, 38, 0xe0, 0, 0, 0, 0, 0];
    rdp.extend_from_slice(b"Cookie: mstshash=alice\r\n");
    rdp.extend_from_slice(&[0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00]);
    packets.extend(tcp_flow(40008, "20.190.6.6", 3389, &[(true, &rdp)]));

    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "names.pcap", packets, None);
    for threads in ["1", "2"] {
        let r = nwcap(&[
            "analyze",
            "--inspect",
            &path,
            "-o",
            "json",
            "--local-ip",
            "10.1.0.4;2001:db8::4",
            "-j",
            threads,
        ]);
        r.ok();
        let report = r.json();

        let tls = flow(&report, "20.190.1.1", 443);
        assert_eq!(tls["service"], "tls");
        assert_eq!(tls["service_by_port"], false);
        assert_eq!(tls["remote_name"], "login.microsoftonline.com");
        assert_eq!(tls["remote_name_source"], "sni");
        assert_eq!(
            tls["app"]["tls"],
            json!({"sni": "login.microsoftonline.com", "version_offered": "TLS 1.3",
                   "alpn_offered": ["h2", "http/1.1"], "version": null, "alpn": null,
                   "alerts": [{"from": "remote", "level": "fatal", "description": "handshake_failure"}]})
        );

        let udp_dns = flow(&report, "168.63.129.16", 53);
        assert_eq!(udp_dns["service"], "dns");
        assert_eq!(udp_dns["remote_name_source"], "azure");
        assert_eq!(
            udp_dns["app"]["dns"],
            json!({"queries": [{"name": "login.microsoftonline.com", "type": "A"}],
                   "rcode": "NOERROR",
                   "answers": [
                       {"name": "login.microsoftonline.com", "type": "CNAME", "ttl": 300, "data": "login.mso.msidentity.com"},
                       {"name": "login.mso.msidentity.com", "type": "A", "ttl": 60, "data": "20.190.1.1"}],
                   "query_count": 1, "response_count": 1, "unanswered": 0})
        );
        let tcp_dns = flow(&report, "10.0.0.53", 53);
        assert_eq!(tcp_dns["app"]["dns"]["answers"][0]["data"], "20.190.2.2");
        // Named by the DNS answer of the TCP flow; its service from the port alone.
        let unnamed = flow(&report, "20.190.2.2", 443);
        assert_eq!(
            (&unnamed["remote_name"], &unnamed["remote_name_source"]),
            (&json!("api.contoso.com"), &json!("dns"))
        );
        assert_eq!(
            (&unnamed["service"], &unnamed["service_by_port"]),
            (&json!("tls"), &json!(true))
        );
        assert_eq!(unnamed["app"], Value::Null);

        let quic1 = flow(&report, "20.190.3.3", 443);
        assert_eq!(quic1["service"], "quic");
        assert_eq!(
            quic1["app"]["quic"],
            json!({"version": "QUIC v1", "sni": "example.com", "alpn_offered": ["alpn"]})
        );
        let quic2 = flow(&report, "20.190.3.4", 443);
        assert_eq!(quic2["app"]["quic"]["version"], "QUIC v2");
        assert_eq!(quic2["app"]["quic"]["sni"], "example.com");

        let http = flow(&report, "20.190.4.4", 8000);
        assert_eq!(http["service"], "http");
        assert_eq!(
            http["app"]["http"],
            json!({"method": "GET", "host": "www.contoso.com", "path": "/index.html?q=1", "status": 404})
        );
        assert_eq!(http["remote_name"], "www.contoso.com");

        let ssh = flow(&report, "20.190.5.5", 22);
        assert_eq!(
            ssh["app"]["ssh"],
            json!({"client": "SSH-2.0-OpenSSH_9.6", "server": "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"})
        );
        let rdp = flow(&report, "20.190.6.6", 3389);
        assert_eq!(
            rdp["app"]["rdp"],
            json!({"cookie": "alice", "requested_protocols": ["ssl", "hybrid"]})
        );

        // The summaries: names per service, DNS failures.
        let services = report["services"].as_array().unwrap();
        let quic = services.iter().find(|s| s["service"] == "quic").unwrap();
        assert_eq!(
            (&quic["flows"], &quic["names"]),
            (&json!(2), &json!(["example.com"]))
        );
        let d = &report["dns"];
        assert_eq!((&d["queries"], &d["responses"]), (&json!(4), &json!(3)));
        let failures: Vec<(String, Value, Value)> = d["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["name"].as_str().unwrap().to_string(),
                    n["rcodes"].clone(),
                    n["unanswered"].clone(),
                )
            })
            .collect();
        assert_eq!(
            failures,
            vec![
                ("nope.contoso.com".into(), json!({"NXDOMAIN": 1}), json!(0)),
                ("slow.contoso.com".into(), json!({}), json!(1)),
            ]
        );
        // The talkers carry the names too.
        let talkers = report["top_talkers"].as_array().unwrap();
        let azure = talkers.iter().find(|t| t["address"] == "168.63.129.16");
        if let Some(t) = azure {
            assert!(t["name"].as_str().unwrap().starts_with("Azure platform"));
        }
    }

    // Without --inspect the report is as before: no such fields, no such sections.
    let r = nwcap(&["analyze", &path, "-o", "json", "--local-ip", LOCAL]);
    r.ok();
    let plain = r.json();
    assert!(plain.get("services").is_none() && plain.get("dns").is_none());
    for f in plain["flows"].as_array().unwrap() {
        assert!(f.get("service").is_none() && f.get("app").is_none(), "{f}");
    }

    // The table shows service and name, a `?` for the port's guess.
    let r = nwcap(&[
        "analyze",
        "--inspect",
        &path,
        "-o",
        "table",
        "--local-ip",
        LOCAL,
    ]);
    r.ok();
    assert!(
        r.stdout.contains("tls login.microsoftonline.com"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("tls? api.contoso.com"), "{}", r.stdout);
    assert!(r.stdout.contains("slow.contoso.com"), "{}", r.stdout);

    // CSV quotes nothing here and has the names in their columns.
    let r = nwcap(&[
        "analyze",
        "--inspect",
        &path,
        "-o",
        "csv",
        "--local-ip",
        LOCAL,
    ]);
    r.ok();
    let header: Vec<&str> = r.stdout.lines().next().unwrap().split(',').collect();
    let row = r
        .stdout
        .lines()
        .find(|l| l.contains(",20.190.1.1,443,"))
        .unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    let at = |c: &str| cells[header.iter().position(|h| *h == c).unwrap()];
    assert_eq!(
        (at("service"), at("sni"), at("tls_version")),
        ("tls", "login.microsoftonline.com", "TLS 1.3")
    );
    assert_eq!(at("alpn"), "h2 http/1.1");
}

/// A payload the snap length cut: the ClientHello's first bytes say TLS but the name is not
/// there, and the segments after it are not joined to a cut one; an HTTP request line cut
/// inside its headers keeps its method but no Host.
#[test]
fn payloads_cut_by_the_snap_length_give_no_wrong_answer() {
    let hello = client_hello("cut.example.net", &["h2"], 600);
    let (first, rest) = hello.split_at(300);
    let get = b"GET /a HTTP/1.1\r\nHost: www.contoso.com\r\n\r\n";
    let mut packets = tcp_flow(50001, "20.190.1.1", 443, &[(true, first), (true, rest)]);
    packets.extend(tcp_flow(50002, "20.190.4.4", 80, &[(true, get)]));
    let dir = tempfile::tempdir().unwrap();
    // 54 bytes of headers, then 36 of payload: the Host line is cut before its end.
    let path = write(&dir, "cut.pcap", packets, Some(90));
    let r = nwcap(&[
        "analyze",
        "--inspect",
        &path,
        "-o",
        "json",
        "--local-ip",
        LOCAL,
    ]);
    r.ok();
    let report = r.json();
    let tls = flow(&report, "20.190.1.1", 443);
    assert_eq!(tls["remote_name"], Value::Null, "{tls}");
    assert!(
        tls["app"].is_null() || tls["app"]["tls"]["sni"].is_null(),
        "{tls}"
    );
    let http = flow(&report, "20.190.4.4", 80);
    assert_eq!(http["app"]["http"]["method"], "GET");
    assert_eq!(http["app"]["http"]["host"], Value::Null);
}

/// Thousands of flows whose packets are spread over the whole file, so that every flow's
/// messages fall in several shards: `--inspect`'s report is the same for any `--threads`,
/// and the file really is read in that many shards.
#[test]
fn inspection_merges_across_shards_like_one_pass() {
    let flows = 1500u32;
    let mut rounds: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 8];
    for i in 0..flows {
        let server = format!("20.{}.{}.1", 100 + i / 250, i % 250);
        let sport = 20000 + i as u16;
        let hello = client_hello(&format!("h{i}.example.net"), &["h2"], 0);
        let alert: &[u8] = &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
        let tcp = tcp_flow(sport, &server, 443, &[(true, &hello), (false, alert)]);
        for (round, p) in tcp.into_iter().enumerate() {
            rounds[round].push(p);
        }
        let name = format!("h{i}.example.net");
        let q = dns(i as u16, 0x0100, &name, 1, &[]);
        let a = dns(
            i as u16,
            0x8180,
            &name,
            1,
            &[(name.as_str(), 1, 60, server_octets(&server))],
        );
        rounds[5].push(udp_data(LOCAL, sport, "168.63.129.16", 53, &q));
        rounds[6].push(udp_data("168.63.129.16", 53, LOCAL, sport, &a));
        let get = format!("GET /{i} HTTP/1.1\r\nHost: {name}\r\n\r\n");
        rounds[7].push(tcp_data(
            LOCAL,
            sport,
            &server,
            80,
            ACK | PSH,
            1,
            get.as_bytes(),
        ));
    }
    let packets: Vec<Vec<u8>> = rounds.into_iter().flatten().collect();
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "many.pcap", packets, None);
    let report = |threads: &str| {
        let r = nwcap(&[
            "analyze",
            "--inspect",
            &path,
            "-o",
            "json",
            "--local-ip",
            LOCAL,
            "-j",
            threads,
            "-vv",
        ]);
        r.ok();
        assert!(
            r.stderr.contains(&format!("read in {threads} shard(s)")),
            "{}",
            r.stderr
        );
        r.stdout
    };
    let one = report("1");
    let v: Value = serde_json::from_str(&one).unwrap();
    let tls = flow(&v, "20.100.7.1", 443);
    assert_eq!(tls["app"]["tls"]["sni"], "h7.example.net");
    assert_eq!(
        tls["app"]["tls"]["alerts"][0]["description"],
        "handshake_failure"
    );
    assert_eq!(v["dns"]["queries"], flows);
    for threads in ["2", "3", "4"] {
        assert_eq!(report(threads), one, "{threads} threads");
    }
}

fn server_octets(ip: &str) -> Vec<u8> {
    ip.split('.').map(|o| o.parse::<u8>().unwrap()).collect()
}

/// The general decoder's packets (raw IP here, which the fast path leaves to it) are
/// inspected as the fast path's: a ClientHello split over two segments is joined.
#[test]
fn raw_ip_packets_are_inspected_like_ethernet_ones() {
    let hello = client_hello("raw.example.net", &["h2"], 1400);
    let (first, rest) = hello.split_at(700);
    let packets = tcp_flow(50001, "20.190.1.1", 443, &[(true, first), (true, rest)]);
    let mut ng = craft::Ng::new();
    ng.section(false).interface(101, 9);
    for (i, p) in packets.into_iter().enumerate() {
        // Without the 14-byte Ethernet header: LINKTYPE_RAW.
        let r = Rec::new(i as i64 * 1_000_000, p[14..].to_vec());
        ng.packet(0, &r, None);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.pcapng");
    std::fs::write(&path, &ng.f).unwrap();
    let r = nwcap(&[
        "analyze",
        "--inspect",
        path.to_str().unwrap(),
        "-o",
        "json",
        "--local-ip",
        LOCAL,
    ]);
    r.ok();
    let report = r.json();
    let tls = flow(&report, "20.190.1.1", 443);
    assert_eq!(tls["app"]["tls"]["sni"], "raw.example.net", "{tls}");
}
