//! A fake Azure Resource Manager for Network Watcher packet captures, on 127.0.0.1.
//!
//! It implements the six operations as the spec (2024-05-01) describes them: PUT answers 201
//! with `Azure-AsyncOperation`; stop, queryStatus and DELETE answer 202 with `Location`;
//! every poll carries `Retry-After: 0` so tests run fast. Canned bodies are the spec's own
//! examples (pc1, pc2 in subid/rg1/nw1). Each request must carry the expected bearer token
//! and an `api-version`; a PUT body must validate against the spec's schema (else 400).
//! Captures move Running -> Stopped (`stopReason: TimeExceeded`) after `run_for`.
//! Tests inject 401/403/429/5xx, hangs and malformed bodies with [`Fault`]s. It also serves
//! blobs under `/blob/...` (DELETE only) for `--delete-files`, with its own token.
//!
//! Error codes for conditions the spec does not document (busy VM, agent missing) are
//! illustrative; nwcap must not depend on them beyond the HTTP status.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::schema;

/// The ARM token the fake accepts.
pub const TOKEN: &str = "nwcap-test-secret-ARM-7f3d9c1e";
/// The storage token the fake accepts on `/blob/`.
pub const STORAGE_TOKEN: &str = "nwcap-test-secret-STORAGE-41aa80";

const SPEC_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/spec");

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string.
    pub query: String,
    /// Authorization header.
    pub auth: Option<String>,
    /// Other headers (lower-case names).
    pub headers: HashMap<String, String>,
    /// Body.
    pub body: String,
    /// Status answered.
    pub status: u16,
}

/// An injected answer: the next `times` requests matching `method` and `path_contains` get
/// `status` with `body` (or no answer at all with `hang`).
#[derive(Debug, Clone)]
pub struct Fault {
    /// Method to match, any when `None`.
    pub method: Option<&'static str>,
    /// Substring of the path.
    pub path_contains: String,
    /// Status to answer.
    pub status: u16,
    /// Body to answer.
    pub body: String,
    /// How many times.
    pub times: u32,
    /// `Retry-After` to send.
    pub retry_after: Option<u32>,
    /// Never answer (the connection stays open for a while).
    pub hang: bool,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
}

impl Fault {
    /// `status` with an ARM error body, `times` times, on requests whose path contains `path`.
    pub fn arm(
        method: Option<&'static str>,
        path: &str,
        status: u16,
        code: &str,
        msg: &str,
        times: u32,
    ) -> Self {
        Fault {
            method,
            path_contains: path.to_string(),
            status,
            body: json!({"error": {"code": code, "message": msg}}).to_string(),
            times,
            retry_after: None,
            hang: false,
            headers: vec![],
        }
    }
}

#[derive(Debug)]
struct Capture {
    resource: Value,
    started: Instant,
    start_time: String,
    run_for: Duration,
    stopped: Option<(String, Vec<String>)>,
    broken: bool,
    /// The agent has uploaded its file.
    uploaded: bool,
}

impl Capture {
    fn status(&self) -> (String, Option<String>, Vec<String>) {
        if let Some((reason, errors)) = &self.stopped {
            return ("Stopped".into(), Some(reason.clone()), errors.clone());
        }
        if self.started.elapsed() < self.run_for {
            return ("Running".into(), None, vec![]);
        }
        if self.broken {
            ("Error".into(), None, vec!["AgentStopped".into()])
        } else {
            ("Stopped".into(), Some("TimeExceeded".into()), vec![])
        }
    }
}

#[derive(Debug)]
enum Op {
    Create {
        key: String,
        polls_left: u32,
        fail: Option<(String, String)>,
    },
    Location {
        polls_left: u32,
        result: Option<Value>,
    },
}

/// What a capture's VM agent does once the capture stops (upload a file).
pub type Agent = Arc<dyn Fn(&Value) + Send + Sync>;

/// Server state, shared with the test.
pub struct State {
    /// Accepted ARM token.
    pub token: String,
    /// Accepted storage token.
    pub storage_token: String,
    /// Captures by lower-cased resource path.
    captures: BTreeMap<String, Capture>,
    /// Known (subscription, resource group, watcher), lower-cased.
    watchers: HashSet<(String, String, String)>,
    ops: HashMap<String, Op>,
    next_op: u64,
    /// Injected faults, first match wins.
    pub faults: Vec<Fault>,
    /// Every request.
    pub log: Vec<Recorded>,
    /// Blob paths that exist.
    pub blobs: HashSet<String>,
    /// List page size (nextLink beyond it).
    pub page_size: usize,
    /// How long new captures run.
    pub run_for: Duration,
    /// Polls an operation answers "in progress" before finishing.
    pub op_polls: u32,
    /// Other resources (VMs, NICs, public IPs, scale-set instances: see `fake_vm`), by
    /// lower-cased path: the api-version they are served at, and the body of a GET.
    pub resources: HashMap<String, (String, Value)>,
    /// Called with a capture's resource when it stops (by `stop`, or at its time limit): the
    /// "agent" that uploads the file.
    pub agent: Option<Agent>,
    spec: Value,
}

/// A running fake.
pub struct FakeArm {
    /// Its port.
    pub port: u16,
    /// Its state.
    pub state: Arc<Mutex<State>>,
}

fn read_json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{SPEC_DIR}/{path}")).unwrap()).unwrap()
}

impl FakeArm {
    /// Starts a fake with pc1 and pc2 (from the spec's List example) in subid/rg1/nw1, and an
    /// empty default watcher NetworkWatcher_westeurope in NetworkWatcherRG.
    pub fn start() -> FakeArm {
        let list = read_json("examples/NetworkWatcherPacketCapturesList.json");
        let status = read_json("examples/NetworkWatcherPacketCaptureQueryStatus.json");
        let mut captures = BTreeMap::new();
        for item in list["responses"]["200"]["body"]["value"]
            .as_array()
            .unwrap()
        {
            let key = item["id"].as_str().unwrap().to_lowercase();
            captures.insert(
                key,
                Capture {
                    resource: item.clone(),
                    started: Instant::now(),
                    start_time: status["responses"]["200"]["body"]["captureStartTime"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    run_for: Duration::ZERO,
                    stopped: Some(("TimeExceeded".into(), vec![])),
                    broken: false,
                    uploaded: true,
                },
            );
        }
        let watchers = [
            ("subid", "rg1", "nw1"),
            ("subid", "networkwatcherrg", "networkwatcher_westeurope"),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
        let state = Arc::new(Mutex::new(State {
            token: TOKEN.into(),
            storage_token: STORAGE_TOKEN.into(),
            captures,
            watchers,
            ops: HashMap::new(),
            next_op: 1,
            faults: vec![],
            log: vec![],
            blobs: HashSet::new(),
            page_size: 100,
            run_for: Duration::from_millis(400),
            op_polls: 1,
            resources: HashMap::new(),
            agent: None,
            spec: read_json("packetCaptures.openapi.json"),
        }));
        let (tx, rx) = std::sync::mpsc::channel();
        let st = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap().port()).unwrap();
                loop {
                    let Ok((sock, _)) = listener.accept().await else {
                        continue;
                    };
                    let st = st.clone();
                    tokio::spawn(async move {
                        let _ = serve(sock, st).await;
                    });
                }
            });
        });
        let port = rx.recv().unwrap();
        FakeArm { port, state }
    }

    /// nwcap with `args`, then the flags that point it at this fake's watcher subid/rg1/nw1
    /// and sign it in with the token the fake accepts (`--auth token`).
    pub fn nwcap_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = super::nwcap_cmd();
        cmd.args(args)
            .args(["-s", "subid", "-g", "rg1", "-w", "nw1"])
            .args(["--arm-endpoint", &self.endpoint(), "--auth", "token"])
            .env("NWCAP_ACCESS_TOKEN", TOKEN);
        cmd
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Adds a capture in subid/rg1/nw1 that runs for `run_for`, optionally ending in Error,
    /// with its storagePath on this server's `/blob/` (which then exists).
    pub fn add_capture(&self, name: &str, run_for: Duration, broken: bool) -> String {
        let id = format!("/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkWatchers/nw1/packetCaptures/{name}");
        let blob = format!("/blob/pcstore/network-watcher-logs/{name}.cap");
        let mut resource = read_json("examples/NetworkWatcherPacketCaptureGet.json")["responses"]
            ["200"]["body"]
            .clone();
        resource["name"] = json!(name);
        resource["id"] = json!(id);
        resource["properties"]["provisioningState"] = json!("Succeeded");
        resource["properties"]["storageLocation"]["storagePath"] =
            json!(format!("{}{blob}", self.endpoint()));
        let mut s = self.state.lock().unwrap();
        s.blobs.insert(blob);
        s.captures.insert(
            id.to_lowercase(),
            Capture {
                resource,
                started: Instant::now(),
                start_time: "2026-01-01T00:00:00Z".into(),
                run_for,
                stopped: None,
                broken,
                uploaded: false,
            },
        );
        id
    }

    /// Adds a capture resource exactly as given (its `id` decides where), whose status is
    /// Stopped with `reason` and `errors`.
    pub fn add_resource(&self, resource: Value, reason: &str, errors: &[&str]) {
        let id = resource["id"]
            .as_str()
            .expect("a resource id")
            .to_lowercase();
        self.state.lock().unwrap().captures.insert(
            id,
            Capture {
                resource,
                started: Instant::now(),
                start_time: "2026-12-05T10:00:00Z".into(),
                run_for: Duration::ZERO,
                stopped: Some((
                    reason.to_string(),
                    errors.iter().map(|e| e.to_string()).collect(),
                )),
                broken: false,
                uploaded: false,
            },
        );
    }

    /// Points a capture's storagePath elsewhere (an Azurite blob, for download tests).
    pub fn set_storage_path(&self, name: &str, url: &str) {
        let mut s = self.state.lock().unwrap();
        let suffix = format!("/packetcaptures/{}", name.to_lowercase());
        for (k, c) in s.captures.iter_mut() {
            if k.ends_with(&suffix) {
                c.resource["properties"]["storageLocation"]["storagePath"] = json!(url);
            }
        }
    }

    /// Sets a capture's target (and scale-set scope), as `start --vm/--vmss` would have.
    pub fn set_target(&self, name: &str, target: &str, scope: Option<Value>) {
        let mut s = self.state.lock().unwrap();
        let suffix = format!("/packetcaptures/{}", name.to_lowercase());
        for (k, c) in s.captures.iter_mut() {
            if k.ends_with(&suffix) {
                let p = &mut c.resource["properties"];
                p["target"] = json!(target);
                match &scope {
                    Some(sc) => {
                        p["scope"] = sc.clone();
                        p["targetType"] = json!("AzureVMSS");
                    }
                    None => {
                        if let Some(o) = p.as_object_mut() {
                            o.remove("scope");
                        }
                    }
                }
            }
        }
    }

    /// Adds a fault.
    pub fn fault(&self, f: Fault) {
        self.state.lock().unwrap().faults.push(f);
    }

    /// The request log.
    pub fn log(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().log.clone()
    }

    /// Whether a capture exists.
    pub fn has_capture(&self, name: &str) -> bool {
        let s = self.state.lock().unwrap();
        s.captures
            .keys()
            .any(|k| k.ends_with(&format!("/packetcaptures/{}", name.to_lowercase())))
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        headers: vec![],
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    }
}

fn arm_error(status: u16, code: &str, message: &str) -> Answer {
    answer(status, json!({"error": {"code": code, "message": message}}))
}

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            let mut chunk = [0u8; 4096];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split(' ');
        let method = first.next().unwrap_or("").to_string();
        let target = first.next().unwrap_or("").to_string();
        let mut headers = HashMap::new();
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let body_start = head_end + 4;
        while buf.len() < body_start + len {
            let mut chunk = [0u8; 4096];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&buf[body_start..body_start + len]).to_string();
        buf.drain(..body_start + len);
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (target.clone(), String::new()),
        };

        let hang;
        let ans = {
            let mut s = state.lock().unwrap();
            let fault = s.faults.iter_mut().find(|f| {
                f.times > 0
                    && f.method.is_none_or(|m| m == method)
                    && path
                        .to_lowercase()
                        .contains(&f.path_contains.to_lowercase())
            });
            let ans = match fault {
                Some(f) => {
                    f.times -= 1;
                    hang = f.hang;
                    let mut a = Answer {
                        status: f.status,
                        headers: f.headers.clone(),
                        body: f.body.clone(),
                    };
                    if let Some(r) = f.retry_after {
                        a.headers.push(("Retry-After".into(), r.to_string()));
                    }
                    a
                }
                None => {
                    hang = false;
                    handle(&mut s, &method, &path, &query, &headers, &body)
                }
            };
            s.log.push(Recorded {
                method: method.clone(),
                path: path.clone(),
                query: query.clone(),
                auth: headers.get("authorization").cloned(),
                headers: headers.clone(),
                body: body.clone(),
                status: ans.status,
            });
            ans
        };
        if hang {
            tokio::time::sleep(Duration::from_secs(5)).await;
            return Ok(());
        }
        let reason = match ans.status {
            200 => "OK",
            201 => "Created",
            202 => "Accepted",
            204 => "No Content",
            _ => "Status",
        };
        let mut out = format!(
            "HTTP/1.1 {} {reason}\r\ncontent-length: {}\r\n",
            ans.status,
            ans.body.len()
        );
        if !ans.body.is_empty() {
            out.push_str("content-type: application/json; charset=utf-8\r\n");
        }
        out.push_str(&format!(
            "x-ms-request-id: req-{}\r\n",
            state.lock().unwrap().log.len()
        ));
        for (k, v) in &ans.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&ans.body);
        sock.write_all(out.as_bytes()).await?;
    }
}

fn handle(
    s: &mut State,
    method: &str,
    path: &str,
    query: &str,
    headers: &HashMap<String, String>,
    body: &str,
) -> Answer {
    let auth = headers.get("authorization").map(String::as_str);
    if let Some(blob) = path.strip_prefix("/blob") {
        if auth != Some(&format!("Bearer {}", s.storage_token)) {
            return Answer {
                status: 401,
                headers: vec![("x-ms-error-code".into(), "InvalidAuthenticationInfo".into())],
                body: String::new(),
            };
        }
        if method != "DELETE" || !headers.contains_key("x-ms-version") {
            return answer(400, Value::Null);
        }
        return if s.blobs.remove(&format!("/blob{blob}")) {
            answer(202, Value::Null)
        } else {
            Answer {
                status: 404,
                headers: vec![("x-ms-error-code".into(), "BlobNotFound".into())],
                body: String::new(),
            }
        };
    }
    if auth != Some(&format!("Bearer {}", s.token)) {
        return arm_error(
            401,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        );
    }
    let api_version = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("api-version="))
        .unwrap_or("");
    if api_version.is_empty() {
        return arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    if let Some((version, body)) = s.resources.get(&path.to_lowercase()) {
        if method != "GET" {
            return arm_error(405, "MethodNotAllowed", "The fake serves GET only here.");
        }
        if api_version != version {
            return arm_error(
                400,
                "InvalidApiVersionParameter",
                &format!("The api-version '{api_version}' is invalid for this resource; the supported version is '{version}'."),
            );
        }
        return answer(200, body.clone());
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let lower: Vec<String> = segs.iter().map(|x| x.to_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();

    // Operation status endpoints.
    if let ["subscriptions", _, "providers", "microsoft.network", "locations", _, kind, id] =
        l.as_slice()
    {
        let kind = kind.to_string();
        let id = id.to_string();
        return poll(s, &kind, &id);
    }
    let ["subscriptions", sub, "resourcegroups", rg, "providers", "microsoft.network", "networkwatchers", nw, "packetcaptures", rest @ ..] =
        l.as_slice()
    else {
        return arm_error(
            404,
            "InvalidResourceType",
            "The resource type could not be found.",
        );
    };
    if *sub != "subid" {
        return arm_error(
            404,
            "SubscriptionNotFound",
            &format!("The subscription '{}' could not be found.", segs[1]),
        );
    }
    if !s.watchers.iter().any(|(_, g, _)| g == rg) {
        return arm_error(
            404,
            "ResourceGroupNotFound",
            &format!("Resource group '{}' could not be found.", segs[3]),
        );
    }
    if !s
        .watchers
        .contains(&(sub.to_string(), rg.to_string(), nw.to_string()))
    {
        return arm_error(404, "ResourceNotFound", &format!("The Resource 'Microsoft.Network/networkWatchers/{}' under resource group '{}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", segs[7], segs[3]));
    }
    let prefix = format!("/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.network/networkwatchers/{nw}/packetcaptures");
    let location = |s: &mut State, op: Op| -> (String, String) {
        let id = s.next_op.to_string();
        s.next_op += 1;
        s.ops.insert(id.clone(), op);
        (
            format!("/subscriptions/subid/providers/Microsoft.Network/locations/westeurope/operations/{id}?api-version={api_version}"),
            format!("/subscriptions/subid/providers/Microsoft.Network/locations/westeurope/operationResults/{id}?api-version={api_version}"),
        )
    };
    match (method, rest) {
        ("GET", []) => {
            let skip: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("$skiptoken="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let all: Vec<Value> = s
                .captures
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, c)| c.resource.clone())
                .collect();
            let page: Vec<Value> = all.iter().skip(skip).take(s.page_size).cloned().collect();
            let mut out = json!({"value": page});
            if skip + s.page_size < all.len() {
                out["nextLink"] = json!(format!(
                    "http://{}{path}?api-version={api_version}&$skiptoken={}",
                    headers.get("host").cloned().unwrap_or_default(),
                    skip + s.page_size
                ));
            }
            answer(200, out)
        }
        (m, [name, tail @ ..]) => {
            let key = format!("{prefix}/{name}");
            let exists = s.captures.contains_key(&key);
            let not_found = || arm_error(404, "NotFound", &format!("Resource {path} not found."));
            match (m, tail) {
                ("GET", []) => match s.captures.get(&key) {
                    Some(c) => answer(200, c.resource.clone()),
                    None => not_found(),
                },
                ("PUT", []) => {
                    let v: Value = match serde_json::from_str(body) {
                        Ok(v) => v,
                        Err(_) => {
                            return arm_error(
                                400,
                                "InvalidRequestFormat",
                                "Cannot parse the request.",
                            )
                        }
                    };
                    if let Err(errs) = schema::validate(&s.spec, "PacketCapture", &v) {
                        return arm_error(
                            400,
                            "InvalidRequestContent",
                            &format!("schema: {}", errs.join("; ")),
                        );
                    }
                    if exists {
                        return arm_error(
                            409,
                            "PacketCaptureAlreadyExists",
                            "A packet capture with this name already exists.",
                        );
                    }
                    let target = v["properties"]["target"]
                        .as_str()
                        .unwrap_or("")
                        .to_lowercase();
                    if target.ends_with("/vm-busy") {
                        return arm_error(409, "AnotherPacketCaptureInProgress", "Another packet capture is already running on the target virtual machine.");
                    }
                    let fail = target.ends_with("/vm-noagent").then(|| ("AgentNotInstalled".to_string(), "The Network Watcher extension is not installed on the virtual machine.".to_string()));
                    let display_name = segs[9];
                    let mut props = v["properties"].clone();
                    props["provisioningState"] = json!("Updating");
                    let resource = json!({
                        "name": display_name,
                        "id": format!("/subscriptions/subid/resourceGroups/{}/providers/Microsoft.Network/networkWatchers/{}/packetCaptures/{display_name}", segs[3], segs[7]),
                        "etag": "W/\"00000000-0000-0000-0000-000000000000\"",
                        "properties": props,
                    });
                    let run_for = s.run_for;
                    s.captures.insert(
                        key.clone(),
                        Capture {
                            resource: resource.clone(),
                            started: Instant::now(),
                            start_time: "2026-01-01T00:00:00Z".into(),
                            run_for,
                            stopped: None,
                            broken: target.ends_with("/vm-broken"),
                            uploaded: false,
                        },
                    );
                    let polls = s.op_polls;
                    let (aso, _) = location(
                        s,
                        Op::Create {
                            key,
                            polls_left: polls,
                            fail,
                        },
                    );
                    Answer {
                        status: 201,
                        headers: vec![
                            ("Azure-AsyncOperation".into(), aso),
                            ("Retry-After".into(), "0".into()),
                        ],
                        body: resource.to_string(),
                    }
                }
                ("DELETE", []) => {
                    if s.captures.remove(&key).is_none() {
                        return answer(204, Value::Null);
                    }
                    let polls = s.op_polls;
                    let (_, loc) = location(
                        s,
                        Op::Location {
                            polls_left: polls,
                            result: None,
                        },
                    );
                    Answer {
                        status: 202,
                        headers: vec![("Location".into(), loc), ("Retry-After".into(), "0".into())],
                        body: String::new(),
                    }
                }
                ("POST", [action]) if *action == "stop" || *action == "querystatus" => {
                    let Some(c) = s.captures.get_mut(&key) else {
                        return not_found();
                    };
                    let result = if *action == "stop" {
                        if c.stopped.is_none() {
                            let (st, reason, errors) = c.status();
                            // Real ARM reports a capture stopped by the user as `Manual`.
                            c.stopped = Some(if st == "Running" {
                                ("Manual".into(), vec![])
                            } else {
                                (reason.unwrap_or_default(), errors)
                            });
                        }
                        None
                    } else {
                        let (st, reason, errors) = c.status();
                        let mut r = json!({
                            "name": c.resource["name"],
                            "id": c.resource["id"],
                            "captureStartTime": c.start_time,
                            "packetCaptureStatus": st,
                            "packetCaptureError": errors,
                        });
                        if let Some(reason) = reason.filter(|r| !r.is_empty()) {
                            r["stopReason"] = json!(reason);
                        }
                        Some(r)
                    };
                    // The agent uploads the file once, when the capture has stopped.
                    if c.status().0 == "Stopped" && !c.uploaded {
                        c.uploaded = true;
                        let resource = c.resource.clone();
                        if let Some(agent) = s.agent.clone() {
                            agent(&resource);
                        }
                    }
                    let polls = s.op_polls;
                    let (_, loc) = location(
                        s,
                        Op::Location {
                            polls_left: polls,
                            result,
                        },
                    );
                    Answer {
                        status: 202,
                        headers: vec![("Location".into(), loc), ("Retry-After".into(), "0".into())],
                        body: String::new(),
                    }
                }
                _ => arm_error(
                    405,
                    "MethodNotAllowed",
                    "The requested method is not allowed.",
                ),
            }
        }
        _ => arm_error(
            405,
            "MethodNotAllowed",
            "The requested method is not allowed.",
        ),
    }
}

fn poll(s: &mut State, _kind: &str, id: &str) -> Answer {
    let Some(op) = s.ops.get_mut(id) else {
        return arm_error(404, "OperationNotFound", "The operation was not found.");
    };
    let in_progress = |kind_: &str| -> Answer {
        if kind_ == "operations" {
            Answer {
                status: 200,
                headers: vec![("Retry-After".into(), "0".into())],
                body: json!({"status": "InProgress"}).to_string(),
            }
        } else {
            Answer {
                status: 202,
                headers: vec![("Retry-After".into(), "0".into())],
                body: String::new(),
            }
        }
    };
    match op {
        Op::Create {
            key,
            polls_left,
            fail,
        } => {
            if *polls_left > 0 {
                *polls_left -= 1;
                return in_progress("operations");
            }
            if let Some((code, message)) = fail.clone() {
                let key = key.clone();
                s.captures.remove(&key);
                return answer(
                    200,
                    json!({"status": "Failed", "error": {"code": code, "message": message}}),
                );
            }
            let key = key.clone();
            if let Some(c) = s.captures.get_mut(&key) {
                c.resource["properties"]["provisioningState"] = json!("Succeeded");
            }
            answer(200, json!({"status": "Succeeded"}))
        }
        Op::Location { polls_left, result } => {
            if *polls_left > 0 {
                *polls_left -= 1;
                return in_progress("operationResults");
            }
            match result.clone() {
                Some(r) => answer(200, r),
                None => answer(204, Value::Null),
            }
        }
    }
}
