//! The fake Resource Manager held to what real ARM does, and nwcap held to it: api-versions
//! checked, operation status answered only at the URL handed out (absolute, as ARM sends it),
//! nwcap following such URLs only within its Resource Manager endpoint, `Retry-After`
//! honoured, stop and queryStatus answered 200 at once, and the token checked before anything
//! else.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::fake_arm::{FakeArm, Fault, Recorded, TOKEN};
use crate::support::{run, Run};

const PC1: &str = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkWatchers/nw1/packetCaptures/pc1";

/// One HTTP/1.1 request to the fake: (status, head, body).
fn raw(fake: &FakeArm, method: &str, target: &str, token: Option<&str>) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", fake.port)).unwrap();
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\n{auth}content-length: 0\r\n\r\n",
        fake.port
    )
    .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

/// A response header's value.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// nwcap against `fake` in subid/rg1/nw1; no token may show.
fn nwcap(fake: &FakeArm, args: &[&str]) -> Run {
    let r = run(fake.nwcap_cmd(args).args(["--retry-delay", "1ms"]));
    r.hides(TOKEN);
    r
}

fn error_code(body: &str) -> Value {
    serde_json::from_str::<Value>(body).unwrap()["error"]["code"].clone()
}

#[test]
fn the_fake_refuses_unknown_api_versions_and_answers_operations_only_where_handed_out() {
    let fake = FakeArm::start();
    let (status, _, body) = raw(
        &fake,
        "GET",
        &format!("{PC1}?api-version=2019-13-01"),
        Some(TOKEN),
    );
    assert_eq!(
        (status, error_code(&body)),
        (400, "InvalidApiVersionParameter".into())
    );
    for v in crate::support::fake_arm::API_VERSIONS {
        let (status, _, _) = raw(&fake, "GET", &format!("{PC1}?api-version={v}"), Some(TOKEN));
        assert_eq!(status, 200, "{v}");
    }

    // queryStatus hands out an absolute operationResults URL on this server.
    let (status, head, _) = raw(
        &fake,
        "POST",
        &format!("{PC1}/queryStatus?api-version=2024-05-01"),
        Some(TOKEN),
    );
    assert_eq!(status, 202);
    let loc = header(&head, "location").unwrap().to_string();
    let prefix = format!(
        "{}/subscriptions/subid/providers/Microsoft.Network/locations/westeurope/operationResults/",
        fake.endpoint()
    );
    assert!(loc.starts_with(&prefix), "{loc}");
    let target = &loc[fake.endpoint().len()..];
    // The other kind of status URL, or another api-version, is not the operation's.
    let elsewhere = [
        target.replace("/operationResults/", "/operations/"),
        target.replace("api-version=2024-05-01", "api-version=2024-07-01"),
    ];
    for t in &elsewhere {
        let (status, _, body) = raw(&fake, "GET", t, Some(TOKEN));
        assert_eq!(
            (status, error_code(&body)),
            (404, "OperationNotFound".into()),
            "{t}"
        );
    }
    assert_eq!(raw(&fake, "GET", target, Some(TOKEN)).0, 202);

    // nwcap with an api-version ARM does not serve hears ARM's refusal.
    let r = nwcap(&fake, &["show", "pc1", "--api-version", "2019-13-01"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("InvalidApiVersionParameter"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_token_is_checked_before_any_fault() {
    let fake = FakeArm::start();
    fake.fault(Fault::arm(
        Some("GET"),
        "/packetCaptures/pc1",
        500,
        "InternalServerError",
        "boom",
        3,
    ));
    let r = run(fake
        .nwcap_cmd(&["show", "pc1"])
        .args(["--retry-delay", "1ms"])
        .env("NWCAP_ACCESS_TOKEN", "not-the-token"));
    r.fails("wrong token", 4, "401");
    let log = fake.log();
    assert!(log.iter().all(|r| r.status == 401), "{log:?}");
    // The fault is still there for a caller with the token.
    let r = nwcap(&fake, &["show", "pc1", "--max-retries", "0"]);
    assert_eq!(r.code, 9, "{}", r.stderr);
}

/// A TCP listener that counts the connections made to it and answers none.
fn trap() -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            h.fetch_add(1, Ordering::SeqCst);
            drop(c);
        }
    });
    (base, hits)
}

#[test]
fn operation_urls_are_followed_only_within_the_resource_manager_endpoint() {
    let fake = FakeArm::start();
    fake.add_capture("running1", Duration::from_secs(600), false);
    // Absolute URLs on the endpoint itself are followed: status, stop, start, delete.
    let r = nwcap(&fake, &["status", "pc1", "--output", "json"]);
    assert_eq!(r.json()["packetCaptureStatus"], "Stopped");
    let r = nwcap(&fake, &["stop", "running1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let polled = |log: &[Recorded]| {
        log.iter()
            .filter(|r| r.path.contains("/locations/westeurope/"))
            .count()
    };
    assert!(polled(&fake.log()) >= 2);

    // Another port on the same host is another origin: not followed, with or without a
    // token to lose.
    let (base, hits) = trap();
    fake.state.lock().unwrap().op_base = Some(base.clone());
    let before = polled(&fake.log());
    for args in [
        vec!["status", "pc1"],
        vec!["stop", "pc1"],
        vec!["delete", "pc2"],
    ] {
        let r = nwcap(&fake, &args);
        assert_ne!(r.code, 0, "{args:?}: {}", r.stdout);
        assert!(
            r.stderr.contains(&format!("it points at {base}"))
                && r.stderr.contains("not at the Resource Manager endpoint"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nwcap connected to {base}");
    assert_eq!(polled(&fake.log()), before);
}

/// The gaps between each request to an operation's status URL and the request before it.
fn poll_gaps(log: &[Recorded]) -> Vec<Duration> {
    log.windows(2)
        .filter(|w| w[1].path.contains("/locations/westeurope/"))
        .map(|w| w[1].at - w[0].at)
        .collect()
}

#[test]
fn retry_after_is_honoured() {
    let fake = FakeArm::start();
    fake.state.lock().unwrap().retry_after = 1;
    let started = Instant::now();
    let r = nwcap(&fake, &["status", "pc1", "--output", "json"]);
    assert_eq!(r.json()["packetCaptureStatus"], "Stopped");
    // queryStatus 202, a poll answered 202, a poll answered 200: two waits of 1 s.
    let gaps = poll_gaps(&fake.log());
    assert_eq!(gaps.len(), 2, "{:?}", fake.log());
    for g in &gaps {
        assert!(*g >= Duration::from_millis(900), "polled after {g:?}");
    }
    assert!(started.elapsed() >= Duration::from_millis(1800));

    // The PUT's Azure-AsyncOperation, with 2 s.
    fake.state.lock().unwrap().retry_after = 2;
    let n = fake.log().len();
    let r = nwcap(
        &fake,
        &["start", "lro1", "--vm", "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/vm1",
          "--storage-account", "/subscriptions/subid/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/pcstore"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let gaps = poll_gaps(&fake.log()[n..]);
    assert!(!gaps.is_empty());
    for g in &gaps {
        assert!(*g >= Duration::from_millis(1900), "polled after {g:?}");
    }
}

#[test]
fn stop_and_query_status_answered_at_once_need_no_polling() {
    let fake = FakeArm::start();
    fake.add_capture("running1", Duration::from_secs(600), false);
    fake.state.lock().unwrap().direct = true;
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/spec/examples/NetworkWatcherPacketCaptureQueryStatus.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let r = nwcap(&fake, &["status", "pc1", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json(), example["responses"]["200"]["body"]);
    let r = nwcap(&fake, &["stop", "running1", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["stopped"], true, "{}", r.stdout);
    let r = nwcap(&fake, &["status", "running1", "--output", "json"]);
    assert_eq!(r.json()["packetCaptureStatus"], "Stopped");
    let log = fake.log();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log.iter().all(|r| r.method == "POST" && r.status == 200),
        "{log:?}"
    );
}
