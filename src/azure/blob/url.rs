//! Blob URLs and SAS redaction: parsing a URL (virtual-host or emulator path style, an optional
//! `--sas` replacing its query), the names derived from it, and the one function that strips
//! signatures from any text before it is shown.
//!
//! Owns every rule about what a blob URL looks like and what of it may be printed. It never
//! sends a request and never touches the disk; the full URL with its SAS leaves only through
//! [`BlobUrl::expose`], for the HTTP client.

use std::fmt;

use crate::azure::http::secret_allowed;
use url::{Host, Url};

use super::BlobError;

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
        if url.query().is_some_and(|q| q.contains("sig=")) && !secret_allowed(&url) {
            return Err(BlobError::BadUrl(format!(
                "refusing to send a SAS over plain http to {}: use https (plain http is \
                 allowed only to a loopback address)",
                url.host_str().unwrap_or_default()
            )));
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
