//! Deletes a capture's blob for `delete --delete-files`: one `DELETE` on the blob URL with a
//! Storage-scope bearer token, through the same pipeline as ARM.
//!
//! Deliberately tiny and separate from the download client: it never reads blobs, never
//! lists containers, and never prints the URL's query (a SAS would be a secret).

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::{Method, Url};

use super::http::{Client, HttpOptions};
use super::{display_url, Error, Result};

/// OAuth scope for Blob Storage.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// Blob service version sent with the request; bearer auth needs 2017-11-09 or later.
const STORAGE_VERSION: &str = "2021-08-06";

/// What happened to the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The blob (and its snapshots) were deleted.
    Deleted,
    /// There was no blob at that URL.
    NotThere,
}

/// Deletes the blob at `url`, snapshots included.
pub async fn delete_blob(
    credential: Arc<dyn TokenCredential>,
    url: &str,
    options: &HttpOptions,
) -> Result<Deleted> {
    let url = Url::parse(url).map_err(|_| Error::Malformed {
        what: "delete capture file".into(),
        detail: "the capture's storagePath is not a URL".into(),
    })?;
    let ctx = format!("delete capture file {}", display_url(&url));
    let client = Client::new(credential, STORAGE_SCOPE, options);
    let headers = [
        ("x-ms-version", STORAGE_VERSION.to_string()),
        ("x-ms-delete-snapshots", "include".to_string()),
    ];
    match client.send(Method::Delete, url, &headers, None, &ctx).await {
        Ok(_) => Ok(Deleted::Deleted),
        Err(Error::Service(s)) if s.status == 404 => Ok(Deleted::NotThere),
        Err(e) => Err(e),
    }
}
