//! `nwcap download`: turn a capture (or blob URLs) into blob URLs, download each to a local
//! file, and show progress. Finding the blobs is [`super::remote`]'s; the transfer itself lives
//! in [`crate::azure::blob`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::arm_common::{emit, emit_json};
use crate::azure::blob::{BlobUrl, Outcome};
use crate::cli::{ArmOutput, DownloadArgs};
use crate::exit;

// The old paths of what moved to `remote`, for `analyze` and the integration tests.
pub use super::remote::resolve_storage_paths;
use super::remote::{blobs, coded, Ui};

/// Downloads every blob of the capture (or the `--url`s); stops at the first failure, whose
/// kind decides the exit code.
pub fn run(args: &DownloadArgs, verbose: u8) -> anyhow::Result<i32> {
    super::runtime()?.block_on(download(args, verbose))
}

async fn download(args: &DownloadArgs, verbose: u8) -> anyhow::Result<i32> {
    let ui = Ui::new(verbose, args.quiet);
    let (downloader, urls, _) = blobs(
        args.capture.as_deref(),
        &args.url,
        &args.remote,
        args.force,
        verbose,
        &ui,
    )
    .await?;
    let mut saved = Vec::new();
    for (url, dest) in plan_destinations(&urls, args.dest.as_deref())? {
        let outcome = downloader.download(&url, &dest, &ui).await.map_err(coded)?;
        match &outcome {
            Outcome::Downloaded {
                bytes,
                resumed_from,
                md5_checked,
            } => {
                let how = match (*resumed_from, *md5_checked) {
                    (0, true) => "size and MD5 verified".to_string(),
                    (0, false) => "size verified".to_string(),
                    (r, true) => format!("resumed at byte {r}; size and MD5 verified"),
                    (r, false) => format!("resumed at byte {r}; size verified"),
                };
                ui.info(&format!("saved {} ({bytes} bytes, {how})", dest.display()));
            }
            Outcome::Skipped { bytes } => ui.info(&format!(
                "{} is already complete ({bytes} bytes, same etag); skipped (--force replaces it)",
                dest.display()
            )),
        }
        saved.push(Saved {
            blob: url.location(),
            path: dest.display().to_string(),
            outcome,
        });
    }
    match args.output {
        Some(ArmOutput::Json) => emit_json(&serde_json::Value::Array(
            saved.iter().map(Saved::json).collect(),
        ))?,
        Some(ArmOutput::Tsv) => emit(&saved.iter().map(Saved::tsv).collect::<String>())?,
        Some(ArmOutput::Table) | None => {}
    }
    Ok(exit::OK)
}

/// One blob's result, for `-o json|tsv`.
struct Saved {
    /// The blob URL without its query (so without any SAS).
    blob: String,
    path: String,
    outcome: Outcome,
}

impl Saved {
    fn parts(&self) -> (&'static str, u64, u64, bool) {
        match self.outcome {
            Outcome::Downloaded {
                bytes,
                resumed_from,
                md5_checked,
            } => ("downloaded", bytes, resumed_from, md5_checked),
            Outcome::Skipped { bytes } => ("skipped", bytes, 0, false),
        }
    }

    fn json(&self) -> serde_json::Value {
        let (status, bytes, resumed_from, md5_checked) = self.parts();
        serde_json::json!({
            "blob": self.blob,
            "path": self.path,
            "status": status,
            "bytes": bytes,
            "resumed_from": resumed_from,
            "md5_checked": md5_checked,
        })
    }

    /// `status bytes path blob`, tab-separated.
    fn tsv(&self) -> String {
        let (status, bytes, ..) = self.parts();
        format!("{status}\t{bytes}\t{}\t{}\n", self.path, self.blob)
    }
}

/// Where each blob goes. `--dest` is a folder when it is an existing directory, ends in `/`, or
/// there are several blobs; otherwise the file name for the single blob.
pub fn plan_destinations(
    urls: &[BlobUrl],
    output: Option<&Path>,
) -> anyhow::Result<Vec<(BlobUrl, PathBuf)>> {
    let folder_like = |p: &Path| {
        p.is_dir() || {
            let s = p.as_os_str().to_string_lossy();
            s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR)
        }
    };
    if let (Some(out), [url]) = (output, urls) {
        if !folder_like(out) {
            return Ok(vec![(url.clone(), out.to_owned())]);
        }
    }
    let dir = output
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."));
    if urls.len() > 1 && dir.is_file() {
        return Err(exit::usage(anyhow::anyhow!(
            "--dest {}: there are {} blobs, so --dest must be a folder",
            dir.display(),
            urls.len()
        )));
    }
    Ok(urls
        .iter()
        .cloned()
        .zip(local_names(urls))
        .map(|(u, n)| (u, dir.join(n)))
        .collect())
}

/// Safe, distinct local names: the blob's last path segment, or when those collide (one
/// file per scale-set instance), the path below the blobs' common folder joined with `_`.
pub fn local_names(urls: &[BlobUrl]) -> Vec<String> {
    let base: Vec<String> = urls.iter().map(BlobUrl::file_name).collect();
    let unique = base.iter().collect::<HashSet<_>>().len() == base.len();
    let names = if unique {
        base
    } else {
        let full: Vec<String> = urls.iter().map(BlobUrl::blob_name).collect();
        let common = common_folder(&full);
        full.iter()
            .map(|n| {
                let rel = &n[common.len()..];
                crate::azure::blob::safe_file_name(&rel.replace('/', "_"))
            })
            .collect()
    };
    // Whatever is left over (names differing only in unsafe characters) gets a counter.
    let mut seen = HashSet::new();
    names
        .into_iter()
        .map(|n| {
            let mut candidate = n.clone();
            let mut i = 2;
            while !seen.insert(candidate.clone()) {
                candidate = match n.rsplit_once('.') {
                    Some((stem, ext)) => format!("{stem}-{i}.{ext}"),
                    None => format!("{n}-{i}"),
                };
                i += 1;
            }
            candidate
        })
        .collect()
}

fn common_folder(names: &[String]) -> String {
    let Some(first) = names.first() else {
        return String::new();
    };
    let mut len = first.len();
    for n in &names[1..] {
        len = first
            .bytes()
            .zip(n.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    first[..len]
        .rfind('/')
        .map_or(String::new(), |i| first[..=i].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(name: &str) -> BlobUrl {
        BlobUrl::parse(&format!("https://a.blob.core.windows.net/c/{name}"), None).unwrap()
    }

    #[test]
    fn names_are_basenames_unless_they_collide() {
        let urls = [u("x/2026/a.cap"), u("x/2026/b.cap")];
        assert_eq!(local_names(&urls), ["a.cap", "b.cap"]);
        let urls = [
            u("x/vmss/0/p.cap"),
            u("x/vmss/1/p.cap"),
            u("x/vmss/10/p.cap"),
        ];
        assert_eq!(local_names(&urls), ["0_p.cap", "1_p.cap", "10_p.cap"]);
        let urls = [u("x/a:b.cap"), u("x/a_b.cap")];
        assert_eq!(local_names(&urls), ["a_b.cap", "a_b-2.cap"]);
    }

    #[test]
    fn output_is_a_file_only_for_one_blob() {
        let one = [u("x/a.cap")];
        let p = plan_destinations(&one, Some(Path::new("out.cap"))).unwrap();
        assert_eq!(p[0].1, Path::new("out.cap"));
        let p = plan_destinations(&one, Some(Path::new("dir/"))).unwrap();
        assert_eq!(p[0].1, Path::new("dir/a.cap"));
        let p = plan_destinations(&one, None).unwrap();
        assert_eq!(p[0].1, Path::new("./a.cap"));
        let two = [u("x/a.cap"), u("x/b.cap")];
        let p = plan_destinations(&two, Some(Path::new("d"))).unwrap();
        assert_eq!(p[1].1, Path::new("d/b.cap"));
    }
}
