//! The request pipeline shared by ARM and the blob delete: azure_core's `Pipeline` (retries on
//! 408/429/5xx with `Retry-After`, client request ids, user agent) plus our bearer policy and
//! verbose log, and the mapping of every failure to [`Error`](super::Error).
//!
//! The SDK's own bearer policy refuses plain http outright, which rules out a fake server on
//! 127.0.0.1 in tests; ours allows http to loopback addresses only, so a token can never
//! leave the machine unencrypted.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential};
use azure_core::error::ErrorKind;
use azure_core::http::headers::Headers;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{
    ClientOptions, Context, ExponentialRetryOptions, Method, Pipeline, PipelineSendOptions,
    Request, RetryOptions, Transport, Url,
};
use azure_core::time::{Duration, OffsetDateTime};
use bytes::Bytes;

use super::credential::{chosen_source, describe_token};
use super::{display_url, Error, Result, ServiceError};

/// Transport and retry settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Retries after the first try, for 408/429/5xx and connection failures.
    pub max_retries: u32,
    /// First back-off delay; doubles per retry. A `Retry-After` on 429/503 wins when longer.
    pub retry_delay: StdDuration,
    /// Per-request read timeout (and the connect timeout, capped at 10 s).
    pub timeout: StdDuration,
    /// 0 quiet; 1 one line per request and response on stderr.
    pub verbose: u8,
    /// The `--auth` choice, for messages about who was authenticated.
    pub auth_label: &'static str,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            max_retries: 5,
            retry_delay: StdDuration::from_millis(500),
            timeout: StdDuration::from_secs(60),
            verbose: 0,
            auth_label: "credential chain",
        }
    }
}

/// A response with a success status (2xx); the body is fully read.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Headers,
    /// Response body.
    pub body: Bytes,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &'static str) -> Option<&str> {
        self.headers.get_optional_str(&name.into())
    }

    /// `x-ms-request-id`, or the correlation id.
    pub fn request_id(&self) -> Option<String> {
        request_id(&self.headers)
    }
}

fn request_id(h: &Headers) -> Option<String> {
    h.get_optional_string(&"x-ms-request-id".into())
        .or_else(|| h.get_optional_string(&"x-ms-correlation-request-id".into()))
}

/// `true` when a secret (a bearer token, a SAS) may go to `url`: https anywhere, plain http
/// only to loopback.
pub fn secret_allowed(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

/// A pipeline that authorizes every request with a token for one scope.
#[derive(Debug, Clone)]
pub struct Client {
    pipeline: Pipeline,
    auth: Arc<BearerPolicy>,
    verbose: u8,
    /// Per-request timeout, also for [`super::reach::check`].
    timeout: StdDuration,
}

impl Client {
    /// A client for `scope` (e.g. `https://management.azure.com/.default`).
    pub fn new(credential: Arc<dyn TokenCredential>, scope: &str, options: &HttpOptions) -> Self {
        let auth = Arc::new(BearerPolicy {
            credential,
            scope: scope.to_string(),
            cache: tokio::sync::Mutex::new(None),
            identity: Mutex::new(None),
            auth_label: options.auth_label,
        });
        // Our own reqwest client only to set the timeouts (the SDK's default read timeout is
        // fixed at 60 s); redirects stay off and decompression stays off, as in the SDK's.
        let http = reqwest::Client::builder()
            .connect_timeout(options.timeout.min(StdDuration::from_secs(10)))
            .read_timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client with a TLS provider installed");
        let client_options = ClientOptions {
            retry: RetryOptions::exponential(ExponentialRetryOptions {
                max_retries: options.max_retries,
                initial_delay: Duration::milliseconds(options.retry_delay.as_millis() as i64),
                max_total_elapsed: Duration::seconds(300),
                max_delay: Duration::seconds(30),
            }),
            transport: Some(Transport::new(Arc::new(http))),
            ..Default::default()
        };
        let per_try: Vec<Arc<dyn Policy>> = vec![
            auth.clone(),
            Arc::new(LogPolicy {
                verbose: options.verbose,
            }),
        ];
        let pipeline = Pipeline::new(
            Some("nwcap"),
            Some(env!("CARGO_PKG_VERSION")),
            client_options,
            Vec::new(),
            per_try,
            None,
        );
        Client {
            pipeline,
            auth,
            verbose: options.verbose,
            timeout: options.timeout,
        }
    }

    /// Sends one request; a non-2xx answer (after retries) becomes [`Error::Service`].
    /// `context` names the call in error messages (e.g. `GET packet capture 'pc1'`).
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        headers: &[(&'static str, String)],
        body: Option<Vec<u8>>,
        context: &str,
    ) -> Result<Response> {
        if !secret_allowed(&url) {
            return Err(Error::Refused(format!(
                "{context}: refusing to send a bearer token to {}: use https (plain http is allowed only to a loopback address)",
                display_url(&url)
            )));
        }
        let host = url.host_str().unwrap_or("").to_string();
        super::reach::check(&url, self.timeout)
            .await
            .map_err(|why| Error::Transport(format!("{context}: {why}")))?;
        let mut req = Request::new(url, method);
        for (k, v) in headers {
            req.insert_header(*k, v.clone());
        }
        if let Some(b) = body {
            req.insert_header("content-type", "application/json");
            req.set_body(b);
        }
        let options = PipelineSendOptions {
            skip_checks: true,
            ..Default::default()
        };
        let rsp = self
            .pipeline
            .send(&Context::new(), &mut req, Some(options))
            .await
            .map_err(|e| map_sdk_error(&e, context, &host))?;
        let (status, headers, body) = rsp.deconstruct();
        let status = u16::from(status);
        let body = Bytes::copy_from_slice(&body);
        if (200..300).contains(&status) {
            return Ok(Response {
                status,
                headers,
                body,
            });
        }
        let mut err = parse_service_error(status, &headers, &body);
        err.context = Some(context.to_string());
        if status == 401 || status == 403 {
            err.identity = Some(self.auth.identity());
        }
        if self.verbose > 0 {
            eprintln!("nwcap: {context}: HTTP {status}");
        }
        Err(Error::Service(Box::new(err)))
    }
}

/// Builds a [`ServiceError`] from an ARM error body, leniently: `{"error": {...}}`, a bare
/// `{"code", "message"}`, or any other text (shortened).
pub fn parse_service_error(status: u16, headers: &Headers, body: &[u8]) -> ServiceError {
    let mut e = ServiceError {
        status,
        request_id: request_id(headers),
        ..Default::default()
    };
    let v: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let obj = v
        .as_ref()
        .and_then(|v| v.get("error").filter(|e| e.is_object()).or(Some(v)))
        .filter(|o| o.get("code").is_some() || o.get("message").is_some());
    let s = |o: &serde_json::Value, k: &str| o.get(k).and_then(|x| x.as_str()).map(str::to_string);
    match obj {
        Some(o) => {
            e.code = s(o, "code");
            e.message = s(o, "message").unwrap_or_default();
            e.target = s(o, "target");
            if let Some(d) = o.get("details").and_then(|d| d.as_array()) {
                e.details = d
                    .iter()
                    .filter_map(|d| match (s(d, "code"), s(d, "message")) {
                        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
                        (Some(x), None) | (None, Some(x)) => Some(x),
                        _ => None,
                    })
                    .collect();
            }
        }
        None => {
            e.code = headers.get_optional_string(&"x-ms-error-code".into());
            e.message = excerpt(body);
        }
    }
    e
}

/// The start of a body as printable single-line text.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if flat.chars().count() > 200 {
        format!("{}…", flat.chars().take(200).collect::<String>())
    } else {
        flat
    }
}

/// Maps an SDK error to ours without its `Debug` (backtraces) or nested URLs.
fn map_sdk_error(e: &azure_core::Error, context: &str, host: &str) -> Error {
    match e.kind() {
        ErrorKind::Credential => Error::Credential(format!("{context}: {}", flat(e))),
        ErrorKind::Io | ErrorKind::Connection => {
            let mut timeout = false;
            let mut last = String::new();
            let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
            while let Some(c) = cur {
                if let Some(r) = c.downcast_ref::<reqwest::Error>() {
                    timeout |= r.is_timeout();
                } else {
                    last = c.to_string();
                }
                cur = c.source();
            }
            let why = if timeout {
                "timed out".to_string()
            } else if last.is_empty() || last.contains("://") {
                "connection failed".to_string()
            } else {
                last
            };
            Error::Transport(format!(
                "{context}: no answer from {host}: {why} (still after retries)"
            ))
        }
        _ => Error::Transport(format!("{context}: {}", flat(e))),
    }
}

/// An SDK error's message and causes on one line, URLs cut to scheme and host.
fn flat(e: &azure_core::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        let s = c.to_string();
        // The retry policy's own wrappers say nothing to a user.
        let noise =
            s.starts_with("non-transport error occurred") || s.starts_with("retry policy expired");
        if !noise && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = c.source();
    }
    parts
        .join(": ")
        .split_whitespace()
        .map(|w| {
            let bare = w.trim_matches(|c: char| "()'\"`,".contains(c));
            match Url::parse(bare) {
                Ok(u) if bare.starts_with("http://") || bare.starts_with("https://") => {
                    display_url(&u)
                }
                _ => w.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Adds `Authorization: Bearer`, caching the token until five minutes before it expires,
/// and notes who the token belongs to for 401/403 messages.
struct BearerPolicy {
    credential: Arc<dyn TokenCredential>,
    scope: String,
    cache: tokio::sync::Mutex<Option<AccessToken>>,
    identity: Mutex<Option<String>>,
    auth_label: &'static str,
}

impl std::fmt::Debug for BearerPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerPolicy")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl BearerPolicy {
    async fn token(&self) -> azure_core::Result<String> {
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.as_ref() {
            if t.expires_on > OffsetDateTime::now_utc() + Duration::minutes(5) {
                return Ok(t.token.secret().to_string());
            }
        }
        let t = self
            .credential
            .get_token(&[self.scope.as_str()], None)
            .await?;
        let secret = t.token.secret().to_string();
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = describe_token(&secret);
        *cache = Some(t);
        Ok(secret)
    }

    fn identity(&self) -> String {
        let how = match chosen_source() {
            Some(src) if self.auth_label == "credential chain" => format!("via {src}"),
            _ => format!("via {}", self.auth_label),
        };
        match self
            .identity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            Some(who) => format!("{who} ({how})"),
            None => format!("the token obtained {how}"),
        }
    }
}

#[async_trait]
impl Policy for BearerPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        if !secret_allowed(request.url()) {
            return Err(azure_core::Error::with_message(
                ErrorKind::Other,
                "refusing to send a bearer token over plain http to a non-loopback host",
            ));
        }
        let token = self.token().await?;
        request.insert_header("authorization", format!("Bearer {token}"));
        let response = next[0].send(ctx, request, &next[1..]).await?;
        if u16::from(response.status()) == 401 {
            // A revoked or expired token must not be reused by the next call.
            *self.cache.lock().await = None;
        }
        Ok(response)
    }
}

/// `-v`: one line per try and per answer, method and URL without query values, never
/// headers or bodies.
#[derive(Debug)]
struct LogPolicy {
    verbose: u8,
}

#[async_trait]
impl Policy for LogPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        if self.verbose == 0 {
            return next[0].send(ctx, request, &next[1..]).await;
        }
        let line = format!("{} {}", request.method(), display_url(request.url()));
        eprintln!("nwcap: -> {line}");
        let started = std::time::Instant::now();
        let result = next[0].send(ctx, request, &next[1..]).await;
        match &result {
            Ok(r) => {
                let rid = request_id(r.headers())
                    .map(|id| format!(", request id {id}"))
                    .unwrap_or_default();
                eprintln!(
                    "nwcap: <- {} {line} ({} ms{rid})",
                    u16::from(r.status()),
                    started.elapsed().as_millis()
                );
            }
            Err(e) => eprintln!("nwcap: <- failed {line}: {}", e.kind()),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_only_over_https_or_loopback() {
        let ok = |s: &str| secret_allowed(&Url::parse(s).unwrap());
        assert!(ok("https://management.azure.com/"));
        assert!(ok("http://127.0.0.1:8080/"));
        assert!(ok("http://[::1]:8080/"));
        assert!(ok("http://localhost/"));
        assert!(!ok("http://management.azure.com/"));
        assert!(!ok("http://10.0.0.1/"));
        assert!(!ok("ftp://127.0.0.1/"));
    }

    #[test]
    fn arm_error_bodies() {
        let h = Headers::new();
        let e = parse_service_error(
            404,
            &h,
            br#"{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'x' could not be found.","details":[{"code":"A","message":"b"}]}}"#,
        );
        assert_eq!(e.code.as_deref(), Some("ResourceGroupNotFound"));
        assert_eq!(e.details, vec!["A: b".to_string()]);
        let e = parse_service_error(400, &h, br#"{"code":"Bad","message":"m"}"#);
        assert_eq!(e.code.as_deref(), Some("Bad"));
        let e = parse_service_error(502, &h, b"<html>\n<b>Bad gateway</b></html>");
        assert_eq!(e.code, None);
        assert_eq!(e.message, "<html> <b>Bad gateway</b></html>");
    }
}
