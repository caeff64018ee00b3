//! Whether a service's host can be reached at all, asked once per host before the first
//! request: a name that does not resolve, or a port that refuses connections, is then told in
//! one line within seconds, where the SDK's retry policy would retry it like a dropped
//! connection for half a minute and report its own internals. It sends nothing over the
//! connection it opens, and it stands aside where a proxy is configured (the proxy resolves
//! and connects there).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use url::Url;

/// Hosts and ports found reachable in this process.
static REACHED: Mutex<Option<HashSet<(String, u16)>>> = Mutex::new(None);

/// Proxy settings reqwest honours: with any of them, connections go through the proxy.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Resolves `url`'s host and opens a TCP connection to it (within `timeout`, at most 10 s a
/// step), the first time this process asks for that host and port; the error is one line:
/// `cannot resolve HOST: ...` or `cannot connect to HOST:PORT: ...`.
pub async fn check(url: &Url, timeout: Duration) -> Result<(), String> {
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return Ok(());
    };
    if PROXY_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
    {
        return Ok(());
    }
    let key = (host.to_string(), port);
    let known =
        |set: &Option<HashSet<(String, u16)>>| set.as_ref().is_some_and(|s| s.contains(&key));
    if known(&REACHED.lock().unwrap_or_else(|p| p.into_inner())) {
        return Ok(());
    }
    let step = timeout.min(Duration::from_secs(10));
    // IPv6 literals come bracketed in URLs; the resolver wants them bare.
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> =
        match tokio::time::timeout(step, tokio::net::lookup_host((name, port))).await {
            Err(_) => return Err(format!("cannot resolve {host}: no answer within {step:?}")),
            Ok(Err(e)) => return Err(format!("cannot resolve {host}: {e}")),
            Ok(Ok(a)) => a.collect(),
        };
    let mut why = String::from("no address");
    for a in addrs {
        match tokio::time::timeout(step, tokio::net::TcpStream::connect(a)).await {
            Ok(Ok(_)) => {
                REACHED
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert_with(HashSet::new)
                    .insert(key);
                return Ok(());
            }
            Ok(Err(e)) => why = e.to_string(),
            Err(_) => why = format!("no answer within {step:?}"),
        }
    }
    Err(format!("cannot connect to {host}:{port}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unresolvable_names_and_closed_ports_are_told_at_once() {
        let t = Duration::from_secs(5);
        let started = std::time::Instant::now();
        let e = check(&Url::parse("https://no-such-host.invalid/x").unwrap(), t)
            .await
            .unwrap_err();
        assert!(
            e.starts_with("cannot resolve no-such-host.invalid: "),
            "{e}"
        );
        // A port nothing listens on: bound, then closed again.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let e = check(&url, t).await.unwrap_err();
        assert!(
            e.starts_with(&format!("cannot connect to 127.0.0.1:{port}: ")),
            "{e}"
        );
        assert!(e.contains("refused"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // A listening port is reachable, and remembered.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/", l.local_addr().unwrap())).unwrap();
        check(&url, t).await.unwrap();
        drop(l);
        check(&url, t).await.unwrap();
    }
}
