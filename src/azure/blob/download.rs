//! The transfer: one blob's bytes through parallel ranged GETs (`azure_storage_blob`, delivered
//! in order), pinned to one version by `If-Match`, resumed in-process after transient failures,
//! and checked (size, Content-MD5) before anyone may trust them.
//!
//! Owns the clients, their retry settings, the transfer loop and the checks. It never names a
//! local file itself (that is [`super::resume`]) and never writes one (that is
//! [`super::writer`]); it knows nothing of packets or Resource Manager.

use std::num::NonZero;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Etag, ExponentialRetryOptions, RetryOptions, Transport};
use azure_storage_blob::models::{
    BlobClientGetPropertiesResultHeaders, BlobContainerClientListBlobsOptions,
};
use azure_storage_blob::{
    BlobClient, BlobClientOptions, BlobContainerClient, BlobContainerClientOptions,
};
use bytes::Bytes;
use futures::TryStreamExt;

use super::error::{error_text, is_transient, map_sdk_error};
use super::ranges::{self, Stop};
use super::resume::{self, LocalFiles};
use super::writer::{self, Writer};
use super::{BlobError, BlobUrl};

/// What the service says about a blob (one HEAD request).
#[derive(Debug, Clone)]
pub struct BlobProps {
    /// Size in bytes.
    pub size: u64,
    /// The version's etag.
    pub etag: String,
    /// Content-MD5, when the blob has one (single-shot uploads; block uploads often have none).
    pub md5: Option<Vec<u8>>,
}

/// Receives progress and messages; the CLI renders them, tests may ignore them.
pub trait Observer: Send + Sync {
    /// A transfer of `name` starts: `total` bytes, `done` already on disk (resume).
    fn start(&self, _name: &str, _total: u64, _done: u64) {}
    /// `n` more bytes are on disk.
    fn advance(&self, _n: u64) {}
    /// The transfer of the current blob ended (successfully or not).
    fn finish(&self) {}
    /// Detail for `-v` (resume offsets, missing Content-MD5, retries).
    fn detail(&self, _msg: &str) {}
    /// Something the user should see even without `-v` (retries, discarded partial data).
    fn warn(&self, _msg: &str) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// Tuning for [`BlobDownloader`]; `Default` gives the measured defaults.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Concurrent ranged GETs per blob.
    pub parallel: NonZero<usize>,
    /// Bytes per ranged GET. Memory is bounded by about (parallel - 1) x block size / 2: what
    /// the ranges after the lowest one may hold while they wait for it (see `ranges`), plus a
    /// few MiB for the lowest range and the writer's pieces.
    pub block_size: NonZero<usize>,
    /// Replace a finished local file even when it holds this blob version.
    pub force: bool,
    /// How often a failed transfer is resumed in-process before giving up (0 = never).
    pub retries: u32,
    /// First back-off delay between those resumes (doubles, capped at 8 s).
    pub retry_delay: Duration,
    /// Retries of one request by the SDK, under the resumes.
    pub max_retries: u32,
    /// Timeout of one HTTP request (connecting: at most 10 s of it).
    pub http_timeout: Duration,
}

/// Default concurrent ranged GETs: behind a 30 ms link, four left the link's rate about 10 %
/// short (a range's request round trip idles its connection), five filled it (figures in
/// docs/performance.md).
pub const DEFAULT_PARALLEL: usize = 5;
/// Default range size: the later ranges then hold at most 4 x 8 MiB / 2, which keeps a
/// download within 64 MiB.
pub const DEFAULT_BLOCK_SIZE: usize = 8 << 20;

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            parallel: NonZero::new(DEFAULT_PARALLEL).expect("nonzero"),
            block_size: NonZero::new(DEFAULT_BLOCK_SIZE).expect("nonzero"),
            force: false,
            retries: 5,
            retry_delay: Duration::from_millis(500),
            max_retries: 3,
            http_timeout: Duration::from_secs(60),
        }
    }
}

/// How one blob download ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The file was written (`resumed_from` bytes were already on disk).
    Downloaded {
        /// Blob size.
        bytes: u64,
        /// Bytes reused from an earlier interrupted run.
        resumed_from: u64,
        /// Whether a Content-MD5 was checked.
        md5_checked: bool,
    },
    /// The file already held this blob version (same size and etag).
    Skipped {
        /// Blob size.
        bytes: u64,
    },
}

/// Downloads blobs with one credential (None = SAS in the URL, or anonymous).
pub struct BlobDownloader {
    credential: Option<Arc<dyn TokenCredential>>,
    options: DownloadOptions,
}

impl BlobDownloader {
    /// A downloader; `credential` is used for URLs without a SAS.
    pub fn new(credential: Option<Arc<dyn TokenCredential>>, options: DownloadOptions) -> Self {
        Self {
            credential,
            options,
        }
    }

    fn credential_for(&self, url: &BlobUrl) -> Option<Arc<dyn TokenCredential>> {
        if url.has_sas() {
            None
        } else {
            self.credential.clone()
        }
    }

    fn client_options(&self) -> ClientOptions {
        // Our own reqwest client only to set the timeouts, as for Resource Manager
        // (`azure::http`): redirects and decompression stay off, as in the SDK's.
        let http = reqwest::Client::builder()
            .connect_timeout(self.options.http_timeout.min(Duration::from_secs(10)))
            .read_timeout(self.options.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client with a TLS provider installed");
        // Few quick retries per request: the download loop resumes on top of this, and a dead
        // endpoint should fail in seconds, not after the SDK's one-minute default.
        ClientOptions {
            retry: RetryOptions::exponential(ExponentialRetryOptions {
                initial_delay: azure_core::time::Duration::milliseconds(250),
                max_retries: self.options.max_retries,
                max_total_elapsed: azure_core::time::Duration::seconds(20),
                max_delay: azure_core::time::Duration::seconds(4),
            }),
            transport: Some(Transport::new(Arc::new(http))),
            ..Default::default()
        }
    }

    fn client(&self, url: &BlobUrl) -> Result<BlobClient, BlobError> {
        let cred = self.credential_for(url);
        if cred.is_some() && url.expose().scheme() != "https" {
            return Err(BlobError::BadUrl(format!(
                "{url}: Entra ID tokens are only sent over https; use an https URL or a SAS"
            )));
        }
        let options = BlobClientOptions {
            client_options: self.client_options(),
            ..Default::default()
        };
        BlobClient::new(url.expose().clone(), cred, Some(options))
            .map_err(|e| BlobError::BadUrl(format!("{url}: {}", error_text(&e))))
    }

    fn map_err(&self, url: &BlobUrl, e: azure_core::Error) -> BlobError {
        map_sdk_error(&url.to_string(), self.credential_for(url).is_some(), e)
    }

    /// Whether `url`'s host can be reached at all (see `azure::reach`), before the SDK's
    /// retries would hide the reason.
    async fn reachable(&self, url: &BlobUrl) -> Result<(), BlobError> {
        crate::azure::reach::check(url.expose(), self.options.http_timeout)
            .await
            .map_err(|why| BlobError::Service(format!("{url}: {why}")))
    }

    /// Size, etag and Content-MD5 of a blob.
    pub async fn properties(&self, url: &BlobUrl) -> Result<BlobProps, BlobError> {
        self.reachable(url).await?;
        let client = self.client(url)?;
        let rsp = client
            .get_properties(None)
            .await
            .map_err(|e| self.map_err(url, e))?;
        let bad = |what: &str| BlobError::Service(format!("{url}: {what}"));
        let size = rsp
            .content_length()
            .map_err(|e| bad(&error_text(&e)))?
            .ok_or_else(|| bad("the service sent no Content-Length"))?;
        let etag = rsp
            .etag()
            .map_err(|e| bad(&error_text(&e)))?
            .ok_or_else(|| bad("the service sent no ETag"))?
            .to_string();
        let md5 = rsp.content_md5().ok().flatten().filter(|m| m.len() == 16);
        Ok(BlobProps { size, etag, md5 })
    }

    /// Whether the blob exists (404 BlobNotFound -> false; other errors are errors).
    pub async fn exists(&self, url: &BlobUrl) -> Result<bool, BlobError> {
        match self.properties(url).await {
            Ok(_) => Ok(true),
            Err(BlobError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Blobs of `url`'s container whose names start with `prefix`, in name order.
    pub async fn list(&self, url: &BlobUrl, prefix: &str) -> Result<Vec<BlobUrl>, BlobError> {
        self.reachable(url).await?;
        let cred = self.credential_for(url);
        let container = BlobContainerClient::new(
            url.container_url(),
            cred,
            Some(BlobContainerClientOptions {
                client_options: self.client_options(),
                ..Default::default()
            }),
        )
        .map_err(|e| BlobError::BadUrl(format!("{url}: {}", error_text(&e))))?;
        let mut pages = container
            .list_blobs(Some(BlobContainerClientListBlobsOptions {
                prefix: Some(prefix.to_owned()),
                ..Default::default()
            }))
            .map_err(|e| self.map_err(url, e))?
            .into_pages();
        let mut out = Vec::new();
        while let Some(page) = pages.try_next().await.map_err(|e| self.map_err(url, e))? {
            let page = page.into_model().map_err(|e| self.map_err(url, e))?;
            for item in page.blob_items {
                if let Some(name) = item.name {
                    out.push(url.sibling(&name));
                }
            }
        }
        out.sort_by_key(|u| u.blob_name());
        Ok(out)
    }

    /// Deletes the blob (with the SAS, which then needs `d`, or the token); `false` when it
    /// was not there.
    pub async fn delete(&self, url: &BlobUrl) -> Result<bool, BlobError> {
        self.reachable(url).await?;
        match self.client(url)?.delete(None).await {
            Ok(_) => Ok(true),
            Err(e) => match self.map_err(url, e) {
                BlobError::NotFound(_) => Ok(false),
                e => Err(e),
            },
        }
    }

    /// Downloads one blob to `dest` (resuming `dest.part` when it holds the same version).
    pub async fn download(
        &self,
        url: &BlobUrl,
        dest: &Path,
        obs: &dyn Observer,
    ) -> Result<Outcome, BlobError> {
        let props = self.properties(url).await?;
        let files = LocalFiles::new(dest);
        let shown = dest.display().to_string();

        if resume::is_complete(dest, &files, &props, self.options.force)? {
            return Ok(Outcome::Skipped { bytes: props.size });
        }

        if props.md5.is_none() {
            obs.detail(&format!(
                "{url}: the blob has no Content-MD5; only its size will be checked"
            ));
        }

        let offset = resume::offset(&files, &props, &shown, obs);
        resume::begin(dest, &files, &props.etag)?;
        let mut writer = Writer::open(&files.part, offset, props.md5.is_some())?;

        obs.start(&shown, props.size, offset);
        let result = self
            .transfer(url, &props, offset, &mut writer, obs)
            .await
            .and_then(|(written, md5)| {
                verify(&shown, &props, written, md5, "the file was not kept")
            });
        obs.finish();

        match result {
            Ok(md5_checked) => {
                writer::commit(&files, dest)?;
                Ok(Outcome::Downloaded {
                    bytes: props.size,
                    resumed_from: offset,
                    md5_checked,
                })
            }
            Err(e @ (BlobError::Changed(_) | BlobError::Integrity(_))) => {
                writer::discard(&files);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Downloads one blob as its bytes in order into `to`, whose receiver reads them as they
    /// come (`analyze` streams a capture through its pass so), and checks them as
    /// [`BlobDownloader::download`] checks a file (size, and Content-MD5 when the blob has
    /// one) once the last is sent: until this returns `Ok`, the bytes are not to be trusted.
    /// `props` come from [`BlobDownloader::properties`], so that the reader knows the size
    /// before the first byte. The channel closes when this returns.
    pub async fn stream(
        &self,
        url: &BlobUrl,
        props: &BlobProps,
        to: tokio::sync::mpsc::Sender<Bytes>,
        obs: &dyn Observer,
    ) -> Result<(), BlobError> {
        let shown = url.to_string();
        if props.md5.is_none() {
            obs.detail(&format!(
                "{url}: the blob has no Content-MD5; only its size will be checked"
            ));
        }
        let mut writer = Writer::channel(to, props.md5.is_some())?;
        obs.start(&shown, props.size, 0);
        let result = self
            .transfer(url, props, 0, &mut writer, obs)
            .await
            .and_then(|(written, md5)| {
                verify(&shown, props, written, md5, "its report was not printed")
            });
        obs.finish();
        result.map(|_| ())
    }

    /// Streams bytes `offset..size` to the writer, resuming after transient failures.
    async fn transfer(
        &self,
        url: &BlobUrl,
        props: &BlobProps,
        mut offset: u64,
        writer: &mut Writer,
        obs: &dyn Observer,
    ) -> Result<(u64, Option<[u8; 16]>), BlobError> {
        let client = Arc::new(self.client(url)?);
        let etag = Etag::from(props.etag.clone());
        let plan = ranges::Plan {
            client: &client,
            etag: &etag,
            size: props.size,
            parallel: self.options.parallel.get(),
            block: self.options.block_size.get() as u64,
        };
        let mut failures = 0u32;
        let mut delay = self.options.retry_delay;
        let name = url.to_string();
        // Range requests at the end of the blob are answered differently by Azure (416) and
        // Azurite (206, empty): never send one.
        while offset < props.size {
            let started_at = offset;
            let err = match ranges::fetch(&plan, &mut offset, writer, obs).await {
                Ok(()) => break,
                Err(Stop::Short) => BlobError::Integrity(format!(
                    "{name}: the stream ended at byte {offset} of {}",
                    props.size
                )),
                Err(Stop::Fatal(e)) => {
                    drop(writer.finish().await);
                    return Err(match e {
                        BlobError::Integrity(m) => BlobError::Integrity(format!("{name}: {m}")),
                        e => e,
                    });
                }
                Err(Stop::Sdk(e)) if is_transient(&e) => BlobError::Service(error_text(&e)),
                Err(Stop::Sdk(e)) => {
                    let mapped = self.map_err(url, e);
                    let mapped = match mapped {
                        BlobError::Changed(_) => BlobError::Changed(format!(
                            "{name}: the blob changed during the download (etag {} is no \
                             longer current); nothing was kept, run again to get the new version",
                            props.etag
                        )),
                        other => other,
                    };
                    drop(writer.finish().await);
                    return Err(mapped);
                }
            };
            if offset > started_at {
                failures = 0;
                delay = self.options.retry_delay;
            }
            failures += 1;
            if failures > self.options.retries {
                let keeps = writer.keeps();
                let (written, _) = writer.finish().await?;
                let then = if keeps {
                    "the bytes so far are kept: run the same command again to resume"
                } else {
                    "run the command again, or `nwcap download` the blob, which can resume"
                };
                return Err(BlobError::Interrupted(format!(
                    "{name}: transfer failed at byte {written} of {} ({err}); {then}",
                    props.size
                )));
            }
            obs.warn(&format!(
                "{name}: transfer failed at byte {offset} of {} ({err}); resuming in {:.1}s \
                 ({failures}/{})",
                props.size,
                delay.as_secs_f64(),
                self.options.retries
            ));
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(8));
        }
        writer.finish().await
    }
}

fn verify(
    shown: &str,
    props: &BlobProps,
    written: u64,
    md5: Option<[u8; 16]>,
    then: &str,
) -> Result<bool, BlobError> {
    if written != props.size {
        return Err(BlobError::Integrity(format!(
            "{shown}: got {written} bytes, the blob has {}",
            props.size
        )));
    }
    match (&props.md5, md5) {
        (Some(want), Some(got)) if want.as_slice() != got.as_slice() => {
            Err(BlobError::Integrity(format!(
                "{shown}: Content-MD5 mismatch (blob {}, downloaded {}); {then}",
                hex(want),
                hex(&got)
            )))
        }
        (Some(_), Some(_)) => Ok(true),
        _ => Ok(false),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
