//! Blob download: a blob URL in, a verified file on disk out. This module owns the transfer
//! (parallel ranged GETs through `azure_storage_blob`, delivered in order and streamed to disk),
//! resume, integrity checks and the atomic rename; it knows nothing of packets or Resource
//! Manager.
//!
//! Contract: bytes only ever go to `NAME.part`, with the blob's etag beside it in
//! `NAME.part.etag`; `NAME` appears only after the size (and Content-MD5, when the blob has
//! one) matched, and every request after the first is pinned to that etag with `If-Match`, so
//! two versions of a blob are never mixed. Every message this module produces has SAS
//! signatures removed ([`redact`]).

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::num::NonZero;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::{ClientOptions, Etag, ExponentialRetryOptions, RetryOptions, StatusCode};
use azure_storage_blob::models::{
    BlobClientDownloadOptions, BlobClientGetPropertiesResultHeaders,
    BlobContainerClientListBlobsOptions,
};
use azure_storage_blob::{
    BlobClient, BlobClientOptions, BlobContainerClient, BlobContainerClientOptions,
};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use url::{Host, Url};

/// Replaces the value of every `sig=` parameter with `REDACTED`: use on any text that may
/// contain a URL or a SAS token before it is shown or logged.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = find_ci(rest, "sig=") {
        let (head, tail) = rest.split_at(i + 4);
        out.push_str(head);
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "%+/=-_.~".contains(c)))
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str("REDACTED");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Why a blob operation failed. Every message is already redacted.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The text is not a blob URL (or the SAS is malformed).
    #[error("{0}")]
    BadUrl(String),
    /// 401/403: the SAS or the identity may not read the blob.
    #[error("{0}")]
    Auth(String),
    /// 404: no such blob or container.
    #[error("{0}")]
    NotFound(String),
    /// The blob changed while it was being downloaded (etag no longer matches).
    #[error("{0}")]
    Changed(String),
    /// Size or Content-MD5 did not match what the service announced.
    #[error("{0}")]
    Integrity(String),
    /// The local file exists and is not a finished download of this blob version.
    #[error("{0}")]
    Exists(String),
    /// A local file could not be created or written (unwritable path, disk full).
    #[error("{0}")]
    Io(String),
    /// The connection kept failing; the bytes so far are kept for a resume.
    #[error("{0}")]
    Interrupted(String),
    /// Any other service or transport error.
    #[error("{0}")]
    Service(String),
}

/// A validated blob URL, possibly carrying a SAS in its query.
#[derive(Clone, PartialEq, Eq)]
pub struct BlobUrl {
    url: Url,
    /// Index of the container in the path segments (1 for path-style emulator URLs).
    container_at: usize,
}

impl fmt::Display for BlobUrl {
    /// The URL with the SAS signature redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(self.url.as_str()))
    }
}

impl fmt::Debug for BlobUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobUrl({self})")
    }
}

const BLOB_URL_SHAPE: &str = "expected https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB";

impl BlobUrl {
    /// Parses a blob URL; `sas` (with or without a leading `?`) replaces any query it has.
    /// Path-style URLs (`http://127.0.0.1:10000/ACCOUNT/CONTAINER/BLOB`, emulators) are
    /// recognised by an IP or `localhost` host.
    pub fn parse(text: &str, sas: Option<&str>) -> Result<Self, BlobError> {
        let bad =
            |why: &str| BlobError::BadUrl(format!("not a blob URL ({why}): {}", redact(text)));
        let mut url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(bad("scheme must be https"));
        }
        let path_style = match url.host() {
            Some(Host::Ipv4(_)) | Some(Host::Ipv6(_)) => true,
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => return Err(bad("no host")),
        };
        let container_at = usize::from(path_style);
        let segments: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
        let blob_segments = segments.get(container_at + 1..).unwrap_or_default();
        if segments.get(container_at).is_none_or(|c| c.is_empty())
            || blob_segments.iter().all(|s| s.is_empty())
        {
            return Err(bad(&format!(
                "no container and blob name; {BLOB_URL_SHAPE}"
            )));
        }
        url.set_fragment(None);
        if let Some(sas) = sas {
            let sas = sas.trim().trim_start_matches('?');
            if !sas.contains("sig=") {
                return Err(BlobError::BadUrl(format!(
                    "--sas: not a SAS token (no sig=): {}",
                    redact(sas)
                )));
            }
            url.set_query(Some(sas));
        }
        Ok(Self { url, container_at })
    }

    /// The URL without its query, and so without any SAS: how reports name the blob.
    pub fn location(&self) -> String {
        let mut u = self.url.clone();
        u.set_query(None);
        u.to_string()
    }

    /// True when the URL carries a SAS signature (then no token credential is needed).
    pub fn has_sas(&self) -> bool {
        self.url.query_pairs().any(|(k, _)| k == "sig")
    }

    /// The full URL, SAS included: for the HTTP client only, never for display.
    pub fn expose(&self) -> &Url {
        &self.url
    }

    /// The blob name (decoded, `/`-separated), e.g. `subscriptions/.../x.cap`.
    pub fn blob_name(&self) -> String {
        self.url
            .path_segments()
            .map(|s| {
                s.skip(self.container_at + 1)
                    .map(percent_decode)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .join("/")
    }

    /// The container URL with the same query (SAS).
    pub fn container_url(&self) -> Url {
        let mut u = self.url.clone();
        let keep: Vec<String> = u
            .path_segments()
            .map(|s| s.take(self.container_at + 1).map(str::to_owned).collect())
            .unwrap_or_default();
        if let Ok(mut p) = u.path_segments_mut() {
            p.clear().extend(keep.iter().map(|s| percent_decode(s)));
        }
        u
    }

    /// The URL of another blob in the same container (same query).
    pub fn sibling(&self, blob_name: &str) -> Self {
        let mut u = self.container_url();
        if let Ok(mut p) = u.path_segments_mut() {
            p.extend(blob_name.split('/'));
        }
        Self {
            url: u,
            container_at: self.container_at,
        }
    }

    /// A local file name for this blob: the last path segment, made safe.
    pub fn file_name(&self) -> String {
        let name = self.blob_name();
        safe_file_name(name.rsplit('/').next().unwrap_or(""))
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hexval = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hexval(b[i + 1]), hexval(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Turns any blob path component into a file name that stays inside its folder: no
/// separators, no `..`, no control characters, never empty or hidden.
pub fn safe_file_name(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() || c == ':' {
                '_'
            } else {
                c
            }
        })
        .collect();
    while s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    if s.is_empty() {
        s = "blob".into();
    }
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

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
    /// Bytes per ranged GET. Memory is bounded by about (3 x parallel + 3) x block size: the
    /// SDK's 2 x parallel re-ordering buffers, the ranges in flight, and the writer channels.
    pub block_size: NonZero<usize>,
    /// Replace a finished local file even when it holds this blob version.
    pub force: bool,
    /// How often a failed transfer is resumed in-process before giving up (0 = never).
    pub retries: u32,
    /// First back-off delay between those resumes (doubles, capped at 8 s).
    pub retry_delay: Duration,
}

/// Default concurrent ranged GETs (measured against Azurite on 2 cores; see README).
pub const DEFAULT_PARALLEL: usize = 4;
/// Default range size.
pub const DEFAULT_BLOCK_SIZE: usize = 16 << 20;

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            parallel: NonZero::new(DEFAULT_PARALLEL).expect("nonzero"),
            block_size: NonZero::new(DEFAULT_BLOCK_SIZE).expect("nonzero"),
            force: false,
            retries: 5,
            retry_delay: Duration::from_millis(500),
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

    fn client_options() -> ClientOptions {
        // Few quick retries per request: the download loop resumes on top of this, and a dead
        // endpoint should fail in seconds, not after the SDK's one-minute default.
        ClientOptions {
            retry: RetryOptions::exponential(ExponentialRetryOptions {
                initial_delay: azure_core::time::Duration::milliseconds(250),
                max_retries: 3,
                max_total_elapsed: azure_core::time::Duration::seconds(20),
                max_delay: azure_core::time::Duration::seconds(4),
            }),
            ..Default::default()
        }
    }

    fn client(&self, url: &BlobUrl) -> Result<BlobClient, BlobError> {
        let cred = self.credential_for(url);
        if cred.is_some() && url.url.scheme() != "https" {
            return Err(BlobError::BadUrl(format!(
                "{url}: Entra ID tokens are only sent over https; use an https URL or a SAS"
            )));
        }
        let options = BlobClientOptions {
            client_options: Self::client_options(),
            ..Default::default()
        };
        BlobClient::new(url.url.clone(), cred, Some(options))
            .map_err(|e| BlobError::BadUrl(format!("{url}: {}", error_text(&e))))
    }

    fn map_err(&self, url: &BlobUrl, e: azure_core::Error) -> BlobError {
        map_sdk_error(&url.to_string(), self.credential_for(url).is_some(), e)
    }

    /// Size, etag and Content-MD5 of a blob.
    pub async fn properties(&self, url: &BlobUrl) -> Result<BlobProps, BlobError> {
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
        let cred = self.credential_for(url);
        let container = BlobContainerClient::new(
            url.container_url(),
            cred,
            Some(BlobContainerClientOptions {
                client_options: Self::client_options(),
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

        if dest.exists() && !self.options.force {
            let on_disk = fs::metadata(dest).map(|m| m.len()).ok();
            let recorded = read_record(&files.record);
            if recorded.as_deref() == Some(props.etag.as_str()) && on_disk == Some(props.size) {
                return Ok(Outcome::Skipped { bytes: props.size });
            }
            let why = if recorded.is_none() {
                "nwcap has no record of which blob version it holds"
            } else {
                "it holds another version of the blob"
            };
            return Err(BlobError::Exists(format!(
                "{shown} exists and {why}; use --force to replace it"
            )));
        }

        if props.md5.is_none() {
            obs.detail(&format!(
                "{url}: the blob has no Content-MD5; only its size will be checked"
            ));
        }

        // Resume only bytes of the very same blob version.
        let mut offset = 0;
        if let Ok(meta) = fs::metadata(&files.part) {
            let same = read_record(&files.part_record).as_deref() == Some(props.etag.as_str());
            if same && meta.len() <= props.size {
                offset = meta.len();
                obs.detail(&format!(
                    "resuming {shown} at byte {offset} of {}",
                    props.size
                ));
            } else {
                obs.warn(&format!(
                    "discarding {}: it belongs to another version of the blob",
                    files.part.display()
                ));
            }
        }
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| io_err("cannot create folder", dir, &e))?;
        }
        write_record(&files.part_record, &props.etag)
            .map_err(|e| io_err("cannot write", &files.part_record, &e))?;
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
                fs::rename(&files.part, dest)
                    .map_err(|e| io_err("cannot rename into place", dest, &e))?;
                // The record lets a later run skip this file; losing it only costs a re-download.
                let _ = fs::rename(&files.part_record, &files.record);
                Ok(Outcome::Downloaded {
                    bytes: props.size,
                    resumed_from: offset,
                    md5_checked,
                })
            }
            Err(e @ (BlobError::Changed(_) | BlobError::Integrity(_))) => {
                // These bytes can never become a good file: drop them.
                let _ = fs::remove_file(&files.part);
                let _ = fs::remove_file(&files.part_record);
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
        let client = self.client(url)?;
        let etag = Etag::from(props.etag.clone());
        let mut failures = 0u32;
        let mut delay = self.options.retry_delay;
        let name = url.to_string();
        // Range requests at the end of the blob are answered differently by Azure (416) and
        // Azurite (206, empty): never send one.
        while offset < props.size {
            let started_at = offset;
            let attempt = async {
                let mut rsp = client
                    .download(Some(BlobClientDownloadOptions {
                        range: Some((offset..).into()),
                        if_match: Some(etag.clone()),
                        parallel: Some(self.options.parallel),
                        partition_size: Some(self.options.block_size),
                        ..Default::default()
                    }))
                    .await?;
                while let Some(chunk) = rsp.body.next().await {
                    let chunk = chunk?;
                    let n = chunk.len() as u64;
                    if offset + n > props.size {
                        return Ok(Some(BlobError::Integrity(format!(
                            "{name}: the service sent more than the announced {} bytes",
                            props.size
                        ))));
                    }
                    if let Err(e) = writer.write(chunk).await {
                        return Ok(Some(e));
                    }
                    offset += n;
                    obs.advance(n);
                }
                Ok::<_, azure_core::Error>(None)
            }
            .await;
            let err = match attempt {
                Ok(None) if offset < props.size => BlobError::Integrity(format!(
                    "{name}: the stream ended at byte {offset} of {}",
                    props.size
                )),
                Ok(None) => break,
                Ok(Some(e)) => {
                    drop(writer.finish().await);
                    return Err(e);
                }
                Err(e) if is_transient(&e) => BlobError::Service(error_text(&e)),
                Err(e) => {
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

/// The three local paths of one download.
struct LocalFiles {
    part: PathBuf,
    part_record: PathBuf,
    record: PathBuf,
}

impl LocalFiles {
    fn new(dest: &Path) -> Self {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let with = |s: String| dest.with_file_name(s);
        Self {
            part: with(format!("{name}.part")),
            part_record: with(format!("{name}.part.etag")),
            record: with(format!(".{name}.etag")),
        }
    }
}

/// Paths a finished or partial download of `dest` may leave beside it (for cleanup and docs).
pub fn sidecar_paths(dest: &Path) -> [PathBuf; 3] {
    let f = LocalFiles::new(dest);
    [f.part, f.part_record, f.record]
}

fn read_record(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines()
        .next()
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

fn write_record(path: &Path, etag: &str) -> io::Result<()> {
    fs::write(path, format!("{etag}\n"))
}

fn io_err(what: &str, path: &Path, e: &io::Error) -> BlobError {
    BlobError::Io(format!("{what} {}: {e}", path.display()))
}

/// What the writer ends with: bytes in the file, and the MD5 of all of them when hashing.
type Written = Result<(u64, Option<[u8; 16]>), BlobError>;

/// Writes chunks on one thread (or sends them on) and hashes them on another, so disk writes,
/// MD5 and the network overlap; each channel holds at most two chunks (`Bytes` clones share
/// memory), which bounds memory.
struct Writer {
    to: Target,
    hash: Option<Stage<[u8; 16]>>,
}

/// Where a [`Writer`] puts the bytes.
enum Target {
    /// A file, written on a thread of its own; the thread returns the file's length.
    File(Stage<u64>),
    /// A channel, read as the bytes come (see [`BlobDownloader::stream`]); `None` once
    /// closed. Counts what it sent.
    Channel(Option<tokio::sync::mpsc::Sender<Bytes>>, u64),
}

/// A thread fed through a bounded channel.
struct Stage<T> {
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    handle: Option<std::thread::JoinHandle<Result<T, BlobError>>>,
}

impl<T: Send + 'static> Stage<T> {
    fn spawn(
        name: &str,
        work: impl FnOnce(tokio::sync::mpsc::Receiver<Bytes>) -> Result<T, BlobError> + Send + 'static,
    ) -> Result<Self, BlobError> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(2);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || work(rx))
            .map_err(|e| BlobError::Io(format!("cannot start {name} thread: {e}")))?;
        Ok(Self {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    async fn send(&self, chunk: Bytes) -> bool {
        match &self.tx {
            Some(tx) => tx.send(chunk).await.is_ok(),
            None => false,
        }
    }

    async fn join(&mut self) -> Result<T, BlobError> {
        self.tx = None;
        let Some(handle) = self.handle.take() else {
            return Err(BlobError::Io("the writer already stopped".into()));
        };
        tokio::task::spawn_blocking(move || handle.join())
            .await
            .map_err(|e| BlobError::Io(format!("writer thread: {e}")))?
            .map_err(|_| BlobError::Io("the writer thread panicked".into()))?
    }
}

/// A thread computing the MD5 of the chunks it is sent, after the first `n` bytes of the file
/// `resumed` names when it is `Some((file, n))`: the digest covers the whole blob.
fn md5_stage(resumed: Option<(PathBuf, u64)>) -> Result<Stage<[u8; 16]>, BlobError> {
    Stage::spawn("nwcap-md5", move |mut rx| {
        let mut h = Md5::new();
        if let Some((path, n)) = resumed {
            let mut old = fs::File::open(&path)
                .map_err(|e| io_err("cannot read", &path, &e))?
                .take(n);
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let got = old
                    .read(&mut buf)
                    .map_err(|e| io_err("cannot read", &path, &e))?;
                if got == 0 {
                    break;
                }
                h.update(&buf[..got]);
            }
        }
        while let Some(chunk) = rx.blocking_recv() {
            h.update(&chunk);
        }
        Ok(h.finalize().into())
    })
}

impl Writer {
    fn open(path: &Path, keep: u64, hash: bool) -> Result<Self, BlobError> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| io_err("cannot create", path, &e))?;
        file.set_len(keep)
            .map_err(|e| io_err("cannot write", path, &e))?;
        file.seek(SeekFrom::Start(keep))
            .map_err(|e| io_err("cannot write", path, &e))?;
        let hash = if hash {
            Some(md5_stage(Some((path.to_owned(), keep)))?)
        } else {
            None
        };
        let path = path.to_owned();
        let to = Stage::spawn("nwcap-writer", move |mut rx| {
            let mut written = keep;
            while let Some(chunk) = rx.blocking_recv() {
                file.write_all(&chunk)
                    .map_err(|e| io_err("cannot write", &path, &e))?;
                written += chunk.len() as u64;
            }
            // Durable before the rename makes it visible under its final name.
            file.sync_all()
                .map_err(|e| io_err("cannot write", &path, &e))?;
            Ok(written)
        })?;
        Ok(Self {
            to: Target::File(to),
            hash,
        })
    }

    /// A writer into the channel `to`, hashing when `hash`.
    fn channel(to: tokio::sync::mpsc::Sender<Bytes>, hash: bool) -> Result<Self, BlobError> {
        let hash = if hash { Some(md5_stage(None)?) } else { None };
        Ok(Self {
            to: Target::Channel(Some(to), 0),
            hash,
        })
    }

    /// Whether the bytes written so far outlive the process, for a later run to resume.
    fn keeps(&self) -> bool {
        matches!(self.to, Target::File(_))
    }

    /// Queues a chunk; on a failure returns the writer's (or hasher's) error.
    async fn write(&mut self, chunk: Bytes) -> Result<(), BlobError> {
        let hashed = match &self.hash {
            Some(h) => h.send(chunk.clone()).await,
            None => true,
        };
        let stored = hashed
            && match &mut self.to {
                Target::File(f) => f.send(chunk).await,
                Target::Channel(to, sent) => {
                    *sent += chunk.len() as u64;
                    match to {
                        Some(to) => to.send(chunk).await.is_ok(),
                        None => false,
                    }
                }
            };
        if stored {
            return Ok(());
        }
        Err(self
            .finish()
            .await
            .err()
            .unwrap_or_else(|| BlobError::Io("the writer stopped".into())))
    }

    /// Flushes, syncs and returns (bytes written, MD5 of them all when hashing).
    async fn finish(&mut self) -> Written {
        let written = match &mut self.to {
            Target::File(f) => f.join().await,
            Target::Channel(to, sent) => {
                // The reader sees the end.
                *to = None;
                Ok(*sent)
            }
        };
        let md5 = match self.hash.as_mut() {
            Some(h) => Some(h.join().await?),
            None => None,
        };
        Ok((written?, md5))
    }
}

/// An SDK error as one redacted line: its message and the causes below it (the SDK's own
/// message is often just "retry policy expired", the cause says connection refused).
pub fn error_text(e: &azure_core::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        src = s.source();
    }
    redact(&parts.join(": "))
}

/// Transport failures and server-side hiccups: worth resuming after.
fn is_transient(e: &azure_core::Error) -> bool {
    match e.kind() {
        ErrorKind::HttpResponse { status, .. } => {
            let s = u16::from(*status);
            s >= 500 || s == 408 || s == 429
        }
        ErrorKind::Io | ErrorKind::Connection | ErrorKind::Other => true,
        _ => false,
    }
}

/// Maps an SDK error to a one-line, redacted [`BlobError`]; `bearer` says whether an Entra ID
/// token (rather than a SAS) was used, which decides the advice for 403.
pub fn map_sdk_error(what: &str, bearer: bool, e: azure_core::Error) -> BlobError {
    let (status, code) = match e.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => (Some(*status), error_code.clone()),
        _ => (None, None),
    };
    let code = code.map(|c| format!(" {c}")).unwrap_or_default();
    match status {
        Some(StatusCode::Unauthorized) | Some(StatusCode::Forbidden) => {
            let s = u16::from(status.expect("matched"));
            let advice = if bearer {
                "the signed-in identity needs the role \"Storage Blob Data Reader\" on the \
                 storage account or container (or pass a SAS)"
            } else {
                "the SAS is wrong, expired, or lacks read (r) permission (list (l) for \
                 captures with several files)"
            };
            BlobError::Auth(format!("{what}: access denied ({s}{code}): {advice}"))
        }
        Some(StatusCode::NotFound) => BlobError::NotFound(format!("{what}: not found (404{code})")),
        Some(StatusCode::PreconditionFailed) => BlobError::Changed(format!(
            "{what}: the blob changed during the download (412{code})"
        )),
        _ if matches!(e.kind(), ErrorKind::Credential) => BlobError::Auth(format!(
            "{what}: could not get an Entra ID token: {}",
            error_text(&e)
        )),
        _ => BlobError::Service(format!("{what}: {}", error_text(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_every_signature() {
        let s = "GET https://a.blob.core.windows.net/c/b?sv=2021&sig=abc%2B%2F%3D&se=x and \
                 (sig=zzz) SIG=QQ";
        let r = redact(s);
        assert!(
            !r.contains("abc") && !r.contains("zzz") && !r.contains("QQ"),
            "{r}"
        );
        assert!(r.contains("sig=REDACTED&se=x"), "{r}");
        assert!(r.contains("(sig=REDACTED)"), "{r}");
        assert_eq!(redact("no secrets"), "no secrets");
        assert_eq!(redact("sig="), "sig=");
    }

    #[test]
    fn parses_virtual_host_and_path_style_urls() {
        let u = BlobUrl::parse(
            "https://acct.blob.core.windows.net/network-watcher-logs/subscriptions/x/2026/a%20b.cap?sv=1&sig=s",
            None,
        )
        .unwrap();
        assert!(u.has_sas());
        assert_eq!(u.blob_name(), "subscriptions/x/2026/a b.cap");
        assert_eq!(u.file_name(), "a b.cap");
        assert_eq!(
            u.container_url().as_str(),
            "https://acct.blob.core.windows.net/network-watcher-logs?sv=1&sig=s"
        );
        assert_eq!(u.to_string().matches("REDACTED").count(), 1);

        let e = BlobUrl::parse(
            "http://127.0.0.1:10000/devstoreaccount1/c/d/e.cap",
            Some("?sv=1&sig=t"),
        )
        .unwrap();
        assert_eq!(e.blob_name(), "d/e.cap");
        assert!(e.has_sas());
        assert_eq!(e.sibling("d/f g.cap").blob_name(), "d/f g.cap");
        assert_eq!(
            e.sibling("d/f g.cap").expose().path(),
            "/devstoreaccount1/c/d/f%20g.cap"
        );
    }

    #[test]
    fn rejects_what_is_not_a_blob_url() {
        for bad in [
            "ftp://a/b/c",
            "https://acct.blob.core.windows.net/",
            "https://acct.blob.core.windows.net/container",
            "https://acct.blob.core.windows.net/container/",
            "http://127.0.0.1:10000/devstoreaccount1/c",
            "not a url",
        ] {
            assert!(
                matches!(BlobUrl::parse(bad, None), Err(BlobError::BadUrl(_))),
                "{bad}"
            );
        }
        let e = BlobUrl::parse("https://a.b/c/d", Some("sv=1")).unwrap_err();
        assert!(e.to_string().contains("--sas"));
    }

    #[test]
    fn file_names_stay_in_their_folder() {
        for evil in ["..", ".", "../../etc/passwd", "/abs", "a/../../b", "..\\x"] {
            let s = safe_file_name(evil);
            assert!(
                !s.contains('/') && !s.contains('\\') && !s.starts_with('.'),
                "{evil} -> {s}"
            );
        }
        assert_eq!(safe_file_name("a\\b"), "a_b");
        assert_eq!(safe_file_name(""), "blob");
        assert_eq!(safe_file_name(".hidden"), "_hidden");
        assert_eq!(safe_file_name("x\u{0}y"), "x_y");
        let u = BlobUrl::parse("https://a.blob.core.windows.net/c/x/%2E%2E%2Fy", None).unwrap();
        assert_eq!(u.file_name(), "y"); // an encoded slash still only names the last part
    }
}
