//! Test harness for the blob tests: a real Azurite on a free loopback port (installed by
//! `scripts/install-test-tools`), SAS tokens from its well-known key, a tiny HTTP/1.1 client
//! for seeding, and a loopback proxy that can cut or pause a transfer after N bytes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;

/// Azurite's fixed development account and key (public, documented by Microsoft).
pub const ACCOUNT: &str = "devstoreaccount1";
const KEY_B64: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// API version used for SAS signing and seeding requests (Azurite 3.35 supports it).
pub const SV: &str = "2021-08-06";

/// A running Azurite blob service; stopped when dropped or when the test process exits.
pub struct Azurite {
    pub port: u16,
    pub https: bool,
    /// Closing this pipe makes the wrapper shell kill Azurite (also if the test is killed).
    lifeline: Option<ChildStdin>,
    wrapper: Child,
    _dir: tempfile::TempDir,
}

fn azurite_bin() -> PathBuf {
    let bin =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/azurite/node_modules/.bin/azurite-blob");
    assert!(
        bin.exists(),
        "Azurite is not installed ({} is missing): run scripts/install-test-tools",
        bin.display()
    );
    bin
}

/// The port in Azurite's "successfully listens on http://127.0.0.1:PORT" line.
fn listening_port(log: &str) -> Option<u16> {
    let line = log
        .lines()
        .find(|l| l.contains("successfully listens on"))?;
    line.rsplit(':').next()?.trim().parse().ok()
}

impl Azurite {
    /// Plain http, SAS only.
    pub fn start() -> Self {
        Self::launch(&[], false)
    }

    /// Plain http, SAS only, with the container `name`.
    pub fn with_container(name: &str) -> Self {
        let az = Self::start();
        az.create_container(name);
        az
    }

    /// https with `--oauth basic` (bearer tokens accepted; Azurite decodes but does not verify
    /// them); `cert`/`key` are a leaf certificate for 127.0.0.1 and its key.
    pub fn start_https(cert: &Path, key: &Path) -> Self {
        let cert = cert.to_str().expect("utf-8 path");
        let key = key.to_str().expect("utf-8 path");
        Self::launch(&["--oauth", "basic", "--cert", cert, "--key", key], true)
    }

    fn launch(extra: &[&str], https: bool) -> Self {
        let bin = azurite_bin();
        let dir = tempfile::tempdir().expect("tempdir");
        let log_path = dir.path().join("azurite.log");
        let log = std::fs::File::create(&log_path).expect("log");
        // Port 0: Azurite takes a free port from the kernel and prints it. Choosing a free
        // port here and handing it over raced with the other test processes doing the same:
        // two Azurites on one port, the loser exiting unseen while its test talked to the
        // winner, until the winner's test ended ("connection refused" mid-test).
        let mut args: Vec<String> = vec![
            "--blobHost".into(),
            "127.0.0.1".into(),
            "--blobPort".into(),
            "0".into(),
            "--inMemoryPersistence".into(),
            "--skipApiVersionCheck".into(),
            "--loose".into(),
            "--disableTelemetry".into(),
            "--silent".into(),
            "--extentMemoryLimit".into(),
            "512".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        // The wrapper starts Azurite and exits with it; a second job kills it at EOF on the
        // wrapper's stdin (our end of the pipe closes when this value is dropped or the test
        // process dies).
        let mut wrapper = Command::new("bash")
            .arg("-c")
            .arg(
                r#"exec 3<&0; "$0" "$@" </dev/null & pid=$!; (read -r _ <&3; kill $pid 2>/dev/null) </dev/null & wait $pid"#,
            )
            .arg(&bin)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("cannot run bash to start Azurite");
        let lifeline = wrapper.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(port) = listening_port(&text) {
                break port;
            }
            if let Ok(Some(st)) = wrapper.try_wait() {
                panic!("Azurite exited ({st}) before listening:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "Azurite did not say it listens within 30 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Self {
            port,
            https,
            lifeline,
            wrapper,
            _dir: dir,
        }
    }

    /// `http(s)://127.0.0.1:PORT/devstoreaccount1`
    pub fn endpoint(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Creates a container (ignores "already exists"). http only.
    pub fn create_container(&self, name: &str) {
        let (status, body) = http(
            "PUT",
            self.port,
            &format!("/{ACCOUNT}/{name}?restype=container&{}", account_sas()),
            &[],
            &[],
        );
        assert!(
            status == 201 || status == 409,
            "create container: {status} {body}"
        );
    }

    /// Single-shot Put Blob (Azurite then stores a Content-MD5). Returns the etag.
    pub fn put_blob(&self, container: &str, blob: &str, data: &[u8]) -> String {
        let (status, body) = http(
            "PUT",
            self.port,
            &format!("/{ACCOUNT}/{container}/{blob}?{}", account_sas()),
            &[("x-ms-blob-type", "BlockBlob")],
            data,
        );
        assert_eq!(status, 201, "put blob: {body}");
        self.etag(container, blob)
    }

    /// Put Block x n + Put Block List: a blob with no Content-MD5, like large captures.
    pub fn put_blob_in_blocks(&self, container: &str, blob: &str, data: &[u8], block: usize) {
        let mut ids = Vec::new();
        for (i, chunk) in data.chunks(block).enumerate() {
            let id = base64::engine::general_purpose::STANDARD.encode(format!("block-{i:08}"));
            let q = format!(
                "/{ACCOUNT}/{container}/{blob}?comp=block&blockid={}&{}",
                pct(&id),
                account_sas()
            );
            let (status, body) = http("PUT", self.port, &q, &[], chunk);
            assert_eq!(status, 201, "put block: {body}");
            ids.push(id);
        }
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>{}</BlockList>",
            ids.iter()
                .map(|i| format!("<Latest>{i}</Latest>"))
                .collect::<String>()
        );
        let q = format!(
            "/{ACCOUNT}/{container}/{blob}?comp=blocklist&{}",
            account_sas()
        );
        let (status, body) = http("PUT", self.port, &q, &[], xml.as_bytes());
        assert_eq!(status, 201, "put block list: {body}");
    }

    /// Stores an arbitrary Content-MD5 on a blob (Set Blob Properties does not check it).
    pub fn set_content_md5(&self, container: &str, blob: &str, md5_b64: &str) {
        let q = format!(
            "/{ACCOUNT}/{container}/{blob}?comp=properties&{}",
            account_sas()
        );
        let (status, body) = http(
            "PUT",
            self.port,
            &q,
            &[("x-ms-blob-content-md5", md5_b64)],
            &[],
        );
        assert_eq!(status, 200, "set properties: {body}");
    }

    pub fn etag(&self, container: &str, blob: &str) -> String {
        let q = format!("/{ACCOUNT}/{container}/{blob}?{}", account_sas());
        let (status, head) = http("HEAD", self.port, &q, &[], &[]);
        assert_eq!(status, 200, "head: {head}");
        head.lines()
            .find_map(|l| {
                l.strip_prefix("etag: ")
                    .or_else(|| l.strip_prefix("ETag: "))
            })
            .expect("etag header")
            .trim()
            .to_owned()
    }

    /// A blob URL with a read-only blob SAS.
    pub fn blob_url(&self, container: &str, blob: &str) -> String {
        format!(
            "{}/{container}/{blob}?{}",
            self.endpoint(),
            blob_sas(container, blob)
        )
    }

    /// A blob URL through a proxy port, same SAS.
    pub fn blob_url_via(&self, port: u16, container: &str, blob: &str) -> String {
        format!(
            "http://127.0.0.1:{port}/{ACCOUNT}/{container}/{blob}?{}",
            blob_sas(container, blob)
        )
    }

    /// `data` as `blob` in 1 MiB blocks, reached through a [`Proxy`] that does `action` once
    /// `after` bytes of it went to the client: the proxy (keep it) and the URL through it.
    pub fn put_blob_behind_proxy(
        &self,
        container: &str,
        blob: &str,
        data: &[u8],
        after: u64,
        action: Action,
    ) -> (Proxy, String) {
        self.put_blob_in_blocks(container, blob, data, 1 << 20);
        let proxy = Proxy::start(self.addr(), after, action);
        let url = self.blob_url_via(proxy.port, container, blob);
        (proxy, url)
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.wrapper.wait();
    }
}

fn sign(string_to_sign: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(KEY_B64)
        .expect("key");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let tag = ring::hmac::sign(&key, string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

fn expiry() -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Percent-encodes a query value.
pub fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Account SAS with every permission (seeding, listing).
pub fn account_sas() -> String {
    let se = expiry();
    let sts = [ACCOUNT, "rwdlacup", "b", "sco", "", &se, "", "", SV, "", ""].join("\n");
    format!(
        "sv={SV}&ss=b&srt=sco&sp=rwdlacup&se={}&sig={}",
        pct(&se),
        pct(&sign(&sts))
    )
}

/// Read-only service SAS for one blob.
pub fn blob_sas(container: &str, blob: &str) -> String {
    let se = expiry();
    let resource = format!("/blob/{ACCOUNT}/{container}/{blob}");
    let sts = [
        "r", "", &se, &resource, "", "", "", SV, "b", "", "", "", "", "", "", "",
    ]
    .join("\n");
    format!("sv={SV}&sr=b&sp=r&se={}&sig={}", pct(&se), pct(&sign(&sts)))
}

/// Minimal HTTP/1.1 request to 127.0.0.1:port; returns (status, head + body as text).
pub fn http(
    method: &str,
    port: u16,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut req = format!(
        "{method} {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nx-ms-version: {SV}\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send");
    s.write_all(body).expect("send body");
    let mut out = Vec::new();
    if method == "HEAD" {
        // No body follows; read until the blank line.
        let mut r = BufReader::new(s);
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            out.extend_from_slice(line.as_bytes());
        }
    } else {
        s.read_to_end(&mut out).expect("read response");
    }
    let text = String::from_utf8_lossy(&out).replace("\r\n", "\n");
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Deterministic pseudo-random bytes (xorshift), so failures are reproducible.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// What the proxy does once `trigger_after` bytes went from the server to the client.
pub enum Action {
    /// Close both sides of that connection (a "connection reset" mid-body).
    Cut,
    /// Run this (e.g. overwrite the blob), then keep forwarding.
    Run(Box<dyn FnOnce() + Send>),
}

/// A loopback TCP proxy in front of Azurite that fires its action once.
pub struct Proxy {
    pub port: u16,
    /// Server-to-client bytes forwarded so far (all connections).
    pub forwarded: Arc<AtomicU64>,
    /// Connections accepted so far.
    pub connections: Arc<AtomicU64>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr, trigger_after: u64, action: Action) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let forwarded = Arc::new(AtomicU64::new(0));
        let fired = Arc::new(AtomicBool::new(false));
        let action = Arc::new(Mutex::new(Some(action)));
        let counter = forwarded.clone();
        let connections = Arc::new(AtomicU64::new(0));
        let accepted = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                accepted.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let (c2, s2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                std::thread::spawn(move || pump_plain(c2, s2));
                let (counter, fired, action) = (counter.clone(), fired.clone(), action.clone());
                std::thread::spawn(move || {
                    pump_counted(server, client, trigger_after, &counter, &fired, &action)
                });
            }
        });
        Self {
            port,
            forwarded,
            connections,
        }
    }
}

fn pump_plain(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 64 << 10];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn pump_counted(
    mut from: TcpStream,
    mut to: TcpStream,
    trigger_after: u64,
    counter: &AtomicU64,
    fired: &AtomicBool,
    action: &Mutex<Option<Action>>,
) {
    let mut buf = [0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = counter.fetch_add(n as u64, Ordering::SeqCst);
        let mut chunk = &buf[..n];
        if !fired.load(Ordering::SeqCst)
            && before + n as u64 >= trigger_after
            && before < trigger_after
        {
            fired.store(true, Ordering::SeqCst);
            let head = (trigger_after - before) as usize;
            if to.write_all(&chunk[..head]).is_err() {
                break;
            }
            chunk = &chunk[head..];
            match action.lock().expect("lock").take() {
                Some(Action::Cut) | None => {
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
                Some(Action::Run(f)) => f(),
            }
        }
        if to.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
