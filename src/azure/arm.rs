//! Azure Resource Manager: endpoint, `api-version`, the bearer-token pipeline for the ARM
//! scope, and long-running operations (`Azure-AsyncOperation` and `Location` polling).
//!
//! It knows ARM conventions, not Network Watcher: the packet-capture operations live in
//! [`packet_capture`](super::packet_capture). Polling URLs and `nextLink`s are followed only
//! on the configured endpoint's origin, so a token is never sent to a host the user did not
//! choose.

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;
use azure_core::http::{Method, Url};
use serde::Deserialize;

use super::http::{excerpt, Client, HttpOptions, Response};
use super::{display_url, Error, OperationError, Result};

/// Public-cloud Resource Manager.
pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com";

/// The newest stable api-version of the packet-capture spec nwcap was written against
/// (`shared/spec/network-watcher`, `info.version`).
pub const DEFAULT_API_VERSION: &str = "2024-05-01";

/// ARM client settings; `Default` is the public cloud with production timings.
#[derive(Debug, Clone)]
pub struct ArmOptions {
    /// Resource Manager endpoint (sovereign clouds, tests).
    pub endpoint: Url,
    /// `api-version` query parameter.
    pub api_version: String,
    /// Transport, retries, logging.
    pub http: HttpOptions,
    /// Poll interval when the service sends no `Retry-After`.
    pub poll_interval: Duration,
    /// Longest wait for one long-running operation.
    pub operation_timeout: Duration,
}

impl Default for ArmOptions {
    fn default() -> Self {
        ArmOptions {
            endpoint: Url::parse(DEFAULT_ENDPOINT).expect("constant URL"),
            api_version: DEFAULT_API_VERSION.to_string(),
            http: HttpOptions::default(),
            poll_interval: Duration::from_secs(3),
            operation_timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// A client for one Resource Manager endpoint.
#[derive(Debug, Clone)]
pub struct ArmClient {
    client: Client,
    options: ArmOptions,
}

/// The body of an `Azure-AsyncOperation` poll.
#[derive(Debug, Deserialize)]
struct AsyncOperation {
    status: Option<String>,
    error: Option<OperationErrorBody>,
}

#[derive(Debug, Deserialize)]
struct OperationErrorBody {
    code: Option<String>,
    message: Option<String>,
}

impl ArmClient {
    /// A client that authenticates with `credential` for the endpoint's `/.default` scope
    /// (`https://management.azure.com/.default` in the public cloud).
    pub fn new(credential: Arc<dyn TokenCredential>, options: ArmOptions) -> Self {
        let scope = format!(
            "{}/.default",
            options.endpoint.origin().ascii_serialization()
        );
        ArmClient {
            client: Client::new(credential, &scope, &options.http),
            options,
        }
    }

    /// The api-version in use.
    pub fn api_version(&self) -> &str {
        &self.options.api_version
    }

    /// `endpoint + path?api-version=…`.
    pub fn url(&self, path: &str) -> Result<Url> {
        self.url_with_version(path, &self.options.api_version)
    }

    /// `endpoint + path?api-version=version`, for another provider's resources.
    pub fn url_with_version(&self, path: &str, version: &str) -> Result<Url> {
        let mut url = self.options.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url.set_query(None);
        url.query_pairs_mut().append_pair("api-version", version);
        Ok(url)
    }

    /// Resolves a URL the service handed out (polling URL, `nextLink`) and checks it points
    /// at our endpoint.
    pub fn service_url(&self, raw: &str, what: &str) -> Result<Url> {
        let url = self
            .options
            .endpoint
            .join(raw)
            .map_err(|_| Error::Malformed {
                what: what.to_string(),
                detail: format!("'{}' is not a URL", excerpt(raw.as_bytes())),
            })?;
        if url.origin() != self.options.endpoint.origin() {
            return Err(Error::Malformed {
                what: what.to_string(),
                detail: format!(
                    "it points at {}, not at the Resource Manager endpoint {}; not following it",
                    display_url(&url),
                    self.options.endpoint.origin().ascii_serialization()
                ),
            });
        }
        Ok(url)
    }

    /// One request, no long-running handling.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        context: &str,
    ) -> Result<Response> {
        self.client.send(method, url, &[], body, context).await
    }

    /// PUT with `final-state-via: azure-async-operation`: polls `Azure-AsyncOperation` until
    /// `Succeeded`, then GETs the resource. Without the header, polls the resource's
    /// `provisioningState` instead. With `wait == false`, returns the PUT's own response.
    pub async fn put_async(
        &self,
        url: Url,
        body: Vec<u8>,
        wait: bool,
        context: &str,
    ) -> Result<Response> {
        let first = self
            .send(Method::Put, url.clone(), Some(body), context)
            .await?;
        if !wait {
            return Ok(first);
        }
        let deadline = Instant::now() + self.options.operation_timeout;
        if let Some(aso) = first.header("azure-asyncoperation").map(str::to_string) {
            let poll_url = self.service_url(&aso, &format!("{context} (Azure-AsyncOperation)"))?;
            let mut delay = self.retry_after(&first);
            loop {
                let p = self.poll(&poll_url, delay, deadline, context).await?;
                let op: AsyncOperation = parse_json(&p, &format!("{context} (polling)"))?;
                let status = op.status.clone().unwrap_or_default();
                match status.to_ascii_lowercase().as_str() {
                    "succeeded" => break,
                    "failed" | "canceled" | "cancelled" => {
                        return Err(operation_failed(context, op, &p));
                    }
                    "" => {
                        return Err(Error::Malformed {
                            what: format!("{context} (polling)"),
                            detail: "the operation status has no 'status'".into(),
                        })
                    }
                    _ => delay = self.retry_after(&p),
                }
            }
            return self.send(Method::Get, url, None, context).await;
        }
        // No Azure-AsyncOperation: follow the resource itself.
        let mut last = first;
        loop {
            let state = provisioning_state(&last.body);
            match state.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("succeeded") => return Ok(last),
                Some("failed") | Some("canceled") => {
                    return Err(Error::OperationFailed(Box::new(OperationError {
                        operation: context.to_string(),
                        status: state.unwrap_or_default(),
                        request_id: last.request_id(),
                        ..Default::default()
                    })))
                }
                _ => {}
            }
            let delay = self.retry_after(&last);
            self.sleep_until(delay, deadline, context).await?;
            last = self.send(Method::Get, url.clone(), None, context).await?;
        }
    }

    /// POST or DELETE with `final-state-via: location`: 200/204 is final; 202 with a
    /// `Location` is polled until it stops answering 202. Returns the final response.
    pub async fn send_location(&self, method: Method, url: Url, context: &str) -> Result<Response> {
        let first = self.send(method, url, None, context).await?;
        let Some(loc) = first.header("location").map(str::to_string) else {
            return Ok(first);
        };
        if first.status != 202 {
            return Ok(first);
        }
        let poll_url = self.service_url(&loc, &format!("{context} (Location)"))?;
        let deadline = Instant::now() + self.options.operation_timeout;
        let mut delay = self.retry_after(&first);
        loop {
            let p = self.poll(&poll_url, delay, deadline, context).await?;
            if p.status != 202 {
                // Some operation endpoints answer 200 with an operation status body.
                if let Ok(op) = serde_json::from_slice::<AsyncOperation>(&p.body) {
                    let status = op.status.as_deref().unwrap_or_default();
                    if matches!(
                        status.to_ascii_lowercase().as_str(),
                        "failed" | "canceled" | "cancelled"
                    ) {
                        return Err(operation_failed(context, op, &p));
                    }
                }
                return Ok(p);
            }
            delay = self.retry_after(&p);
        }
    }

    /// The service's `Retry-After` (seconds or HTTP date is not used by ARM for polling;
    /// only seconds are read), capped at a minute, or nwcap's own interval.
    fn retry_after(&self, r: &Response) -> Pause {
        match r
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            Some(s) => Pause {
                delay: Duration::from_secs(s.min(60)),
                asked: true,
            },
            None => Pause {
                delay: self.options.poll_interval,
                asked: false,
            },
        }
    }

    /// Waits as the service asked, then GETs the operation's polling URL.
    async fn poll(
        &self,
        url: &Url,
        delay: Pause,
        deadline: Instant,
        context: &str,
    ) -> Result<Response> {
        self.sleep_until(delay, deadline, context).await?;
        self.send(
            Method::Get,
            url.clone(),
            None,
            &format!("{context} (polling)"),
        )
        .await
    }

    async fn sleep_until(&self, pause: Pause, deadline: Instant, context: &str) -> Result<()> {
        let delay = pause.delay;
        if Instant::now() + delay > deadline {
            return Err(Error::Timeout(format!(
                "{context}: the operation did not finish within {} s",
                self.options.operation_timeout.as_secs()
            )));
        }
        if self.options.http.verbose > 0 && !delay.is_zero() {
            let why = if pause.asked {
                "as the service asks (Retry-After)"
            } else {
                "(nwcap's own interval: the service sent no Retry-After)"
            };
            eprintln!("nwcap: {context}: waiting {} s {why}", delay.as_secs_f32());
        }
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

/// How long to wait before polling again, and whether the service asked for it.
#[derive(Debug, Clone, Copy)]
struct Pause {
    delay: Duration,
    /// The delay is the service's `Retry-After`, not nwcap's own interval.
    asked: bool,
}

/// Parses a JSON body, mapping failure to [`Error::Malformed`].
pub fn parse_json<T: serde::de::DeserializeOwned>(r: &Response, what: &str) -> Result<T> {
    serde_json::from_slice(&r.body).map_err(|e| Error::Malformed {
        what: what.to_string(),
        detail: if r.body.is_empty() {
            "empty body where JSON was expected".to_string()
        } else {
            format!("invalid JSON ({e}): {}", excerpt(&r.body))
        },
    })
}

fn provisioning_state(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("properties")?
        .get("provisioningState")?
        .as_str()
        .map(str::to_string)
}

/// A long-running operation that ended `Failed` or `Canceled`, with the service's error.
fn operation_failed(context: &str, op: AsyncOperation, p: &Response) -> Error {
    let err = op.error.unwrap_or(OperationErrorBody {
        code: None,
        message: None,
    });
    Error::OperationFailed(Box::new(OperationError {
        operation: context.to_string(),
        status: op.status.unwrap_or_default(),
        code: err.code,
        message: err.message,
        request_id: p.request_id(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::credential::StaticToken;

    fn client(endpoint: &str) -> ArmClient {
        ArmClient::new(
            Arc::new(StaticToken::new("t".into())),
            ArmOptions {
                endpoint: Url::parse(endpoint).unwrap(),
                ..Default::default()
            },
        )
    }

    #[test]
    fn urls_keep_endpoint_path_and_add_api_version() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let c = client("http://127.0.0.1:9/base/");
        let u = c.url("/subscriptions/s").unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:9/base/subscriptions/s?api-version=2024-05-01"
        );
        assert!(c
            .service_url("http://127.0.0.1:9/op/1?api-version=x", "t")
            .is_ok());
        assert!(c.service_url("https://evil.example/op", "t").is_err());
        assert!(c.service_url("http://127.0.0.1:10/op", "t").is_err());
    }
}
