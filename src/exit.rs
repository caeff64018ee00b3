//! Exit codes, and the error wrapper that carries one to `main`.

use std::sync::LazyLock;

/// One documented exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The process exit code.
    pub code: i32,
    /// The name of its constant in this module, e.g. `NOT_FOUND`.
    pub name: &'static str,
    /// What it means, as `--help` says it; `\n` starts an indented continuation line.
    pub meaning: &'static str,
}

/// Defines each code's constant and the [`TABLE`] of all of them from one list, so that the
/// two cannot disagree.
macro_rules! exit_codes {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal, $meaning:literal;)*) => {
        $($(#[doc = $doc])* pub const $name: i32 = $code;)*

        /// Every exit code, in order: `--help` prints it ([`help`]) and README.md's table
        /// lists the same codes (a test checks).
        pub const TABLE: &[Exit] = &[
            $(Exit { code: $code, name: stringify!($name), meaning: $meaning },)*
        ];
    };
}

exit_codes! {
    /// Success.
    OK = 0, "success";
    /// A runtime failure: I/O, network, service error.
    RUNTIME = 1, "runtime error (file or network I/O, service error)";
    /// Bad command line (clap also uses 2).
    USAGE = 2, "usage error (bad flag, bad filter value)";
    /// An input capture was damaged or is not a capture, or could not be read to its end (an I/O
    /// error such as EIO, or the file shrank while it was read: to the user the file is unreadable
    /// past that offset, like a damaged one); the report covers what could be read.
    DAMAGED_INPUT = 3, "an input capture is damaged, cut short or not a capture, or a read of it failed
part-way (report covers what was read)";
    /// Azure authentication or authorization failed (no token, 401, 403).
    AUTH = 4, "Azure authentication or authorization failed (no token, HTTP 401/403)";
    /// The subscription, resource group, watcher or capture does not exist (404).
    NOT_FOUND = 5, "not found: subscription, resource group, watcher or capture (HTTP 404)";
    /// Conflict (409): the capture name exists, or another capture runs on the VM.
    CONFLICT = 6, "conflict: the capture name exists or another capture runs on the VM (HTTP 409)";
    /// The capture ended in `Error`, or an Azure operation reported `Failed`/`Canceled`.
    FAILED = 7, "the capture ended in Error, or an Azure operation reported Failed/Canceled";
    /// `wait` gave up: the capture was still running at `--timeout`.
    TIMEOUT = 8, "wait: the capture was still running at --timeout";
    /// Azure was unavailable: throttled (429) or failing (5xx) after retries, or no answer.
    /// Trying again later may work.
    UNAVAILABLE = 9, "Azure unavailable: throttled (429), server errors (5xx) or no answer, after retries";
    /// `download` (or `analyze --capture`): the blob changed during the download, or failed its
    /// size/Content-MD5 check; nothing was kept under the final name, nor analyzed.
    BLOB_CHANGED = 10, "download, analyze --capture/--url: the blob changed mid-download or failed its
size/MD5 check (no file kept, nothing analyzed)";
    /// `download` (or `analyze --capture`): Blob Storage refused access (401/403: SAS or Entra ID
    /// role).
    STORAGE_AUTH = 11, "download, analyze --capture/--url: storage access denied (bad or expired SAS,
or missing role \"Storage Blob Data Reader\")";
    /// `download` (or `analyze --capture`): the capture has no file in Blob Storage (its file
    /// stays on the VM: filePath or localPath only), so there is nothing to download.
    NO_BLOB = 12, "download, analyze --capture: nothing to download (the capture's file is on the VM
only, or it names no file)";
}

/// The `Exit codes:` text of `--help`, made from [`TABLE`].
pub fn help() -> &'static str {
    static HELP: LazyLock<String> = LazyLock::new(|| {
        let mut text = String::from("Exit codes:");
        for e in TABLE {
            let mut lines = e.meaning.lines();
            let first = lines.next().unwrap_or_default();
            text.push_str(&format!("\n  {:<2} {first}", e.code));
            for more in lines {
                text.push_str(&format!("\n     {more}"));
            }
        }
        text
    });
    &HELP
}

/// An error that decides the process exit code.
#[derive(Debug, thiserror::Error)]
#[error("{inner:#}")]
pub struct Coded {
    /// Exit code.
    pub code: i32,
    /// What went wrong.
    pub inner: anyhow::Error,
}

/// Wraps an error with an exit code.
pub fn with_code(code: i32, e: impl Into<anyhow::Error>) -> anyhow::Error {
    Coded {
        code,
        inner: e.into(),
    }
    .into()
}

/// Wraps an error as a usage error.
pub fn usage(e: impl Into<anyhow::Error>) -> anyhow::Error {
    Coded {
        code: USAGE,
        inner: e.into(),
    }
    .into()
}

/// The exit code an error maps to.
pub fn code_of(e: &anyhow::Error) -> i32 {
    e.chain()
        .find_map(|c| c.downcast_ref::<Coded>().map(|c| c.code))
        .unwrap_or(RUNTIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_in_order() {
        for (i, e) in TABLE.iter().enumerate() {
            assert_eq!(e.code, i as i32, "{}", e.name);
        }
    }

    /// README.md's `## Exit codes` table has one row per code of [`TABLE`], no more.
    #[test]
    fn readme_lists_every_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).expect("README.md is readable");
        let section = readme
            .split("\n## Exit codes\n")
            .nth(1)
            .expect("README.md has a '## Exit codes' section");
        let section = section.split("\n## ").next().unwrap_or_default();
        let rows = section
            .lines()
            .skip_while(|l| !l.starts_with("| code | meaning |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'));
        let readme_codes: Vec<i32> = rows
            .map(|row| {
                let cell = row
                    .trim_start_matches('|')
                    .split('|')
                    .next()
                    .unwrap_or_default();
                cell.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("README.md exit-code row without a code: {row}"))
            })
            .collect();
        let codes: Vec<i32> = TABLE.iter().map(|e| e.code).collect();
        assert_eq!(
            readme_codes, codes,
            "README.md's exit-code table vs exit::TABLE"
        );
    }
}
