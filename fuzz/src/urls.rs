//! Any text as a blob URL (with or without a separate SAS) or as an ARM resource id: parsing
//! never panics; a blob URL shown never shows a signature (every `sig=` in it is
//! `sig=REDACTED`, and `redact` leaves nothing more to redact); a parsed URL parses again from
//! what it exposes, to the same URL; a capture id parsed is one, and names what it was given.

use nwcap::azure::blob::{redact, BlobUrl};
use nwcap::azure::resource_id::{CaptureId, ResourceId};

/// Every `sig=` (any case) in `shown` is followed by `REDACTED` or by nothing to hide.
fn redacted(shown: &str) {
    let lower = shown.to_ascii_lowercase();
    for (at, _) in lower.match_indices("sig=") {
        let rest = &shown[at + 4..];
        let value_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "%+/=-_.~".contains(c)))
            .unwrap_or(rest.len());
        assert!(
            value_len == 0 || rest.starts_with("REDACTED"),
            "a signature shown: {shown}"
        );
    }
    assert_eq!(redact(shown), shown, "redacting twice changes: {shown}");
}

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (url, sas) = match text.split_once('\n') {
        Some((u, s)) => (u, Some(s)),
        None => (&*text, None),
    };
    redacted(&redact(&text));
    for sas in [None, sas] {
        if let Ok(u) = BlobUrl::parse(url, sas) {
            redacted(&u.to_string());
            redacted(&format!("{u:?}"));
            let again = BlobUrl::parse(u.expose().as_str(), None).expect("a parsed URL parses");
            assert_eq!(again, u, "{url}");
            let _ = (
                u.blob_name(),
                u.container_url(),
                u.file_name(),
                u.location(),
            );
        }
    }
    if let Ok(id) = ResourceId::parse(url, "a resource id") {
        assert!(!id.subscription.is_empty() && !id.types.is_empty(), "{url}");
    }
    if let Ok(c) = CaptureId::parse(url) {
        assert!(
            url.contains(&c.name) && url.contains(&c.watcher.name),
            "{url}"
        );
    }
}
