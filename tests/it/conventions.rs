//! Command-line conventions (issue 22, items 19, 20, 22): `-o/--output` is the format in
//! every command, with `tsv` as az has it; one error style; examples in every `--help`;
//! shell completions and man pages.

use crate::support::{corpus, nwcap};

#[test]
fn analyze_tsv_is_the_csv_rows_with_tabs_and_no_header() {
    let f = corpus("zeek__http-bro.org.pcap");
    let f = f.to_str().unwrap();
    let csv = nwcap(&["analyze", f, "-o", "csv"]);
    csv.ok();
    let tsv = nwcap(&["analyze", f, "-o", "tsv"]);
    tsv.ok();
    let want: Vec<String> = csv
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.replace(',', "\t"))
        .collect();
    let got: Vec<&str> = tsv.stdout.lines().collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    assert!(!got[0].starts_with("protocol"), "no header");
}

#[test]
fn usage_errors_are_one_nwcap_line_naming_the_help_to_read() {
    for (args, says) in [
        (&["analyze", "x.pcap", "--output", "yaml"][..], "'yaml'"),
        (&["list", "--bogus"][..], "'--bogus'"),
        (&["show"][..], "<CAPTURE>"),
        (&["frobnicate"][..], "'frobnicate'"),
    ] {
        let r = nwcap(args);
        r.fails(&args.join(" "), 2, says);
        assert!(r.stderr.starts_with("nwcap: "), "{}", r.stderr);
        assert!(
            !r.stderr.contains("error:") && !r.stderr.contains("Usage:"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("--help'"), "{}", r.stderr);
    }
    // Help and version still go to stdout with exit 0.
    let r = nwcap(&["--version"]);
    r.ok();
    assert!(r.stdout.starts_with("nwcap "), "{}", r.stdout);
}

#[test]
fn every_command_accepts_dash_o_as_its_format() {
    for cmd in [
        "list", "show", "status", "start", "stop", "wait", "delete", "download",
    ] {
        let r = nwcap(&[cmd, "-o", "yaml"]);
        assert_eq!(r.code, 2, "{cmd}: {}", r.stderr);
        assert!(
            r.stderr.contains("'yaml'") && r.stderr.contains("tsv"),
            "{cmd}: {}",
            r.stderr
        );
    }
}

#[test]
fn every_help_has_examples() {
    for cmd in [
        "analyze",
        "download",
        "list",
        "show",
        "status",
        "start",
        "stop",
        "wait",
        "delete",
        "completions",
        "man",
    ] {
        let r = nwcap(&[cmd, "--help"]);
        r.ok();
        let examples = r
            .stdout
            .split("Examples:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{cmd}: no examples"));
        let n = examples
            .lines()
            .take_while(|l| l.starts_with("  ") || l.is_empty())
            .filter(|l| l.starts_with(&format!("  nwcap {cmd}")))
            .count();
        assert!((2..=4).contains(&n), "{cmd}: {n} examples\n{}", r.stdout);
    }
}

#[test]
fn completions_and_man_pages() {
    for (shell, marker) in [
        ("bash", "complete -F _nwcap"),
        ("zsh", "#compdef nwcap"),
        ("fish", "complete -c nwcap"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let r = nwcap(&["completions", shell]);
        r.ok();
        assert!(r.stdout.contains(marker), "{shell}");
        assert!(
            r.stdout.contains("analyze") && r.stdout.contains("dest"),
            "{shell}"
        );
    }
    let r = nwcap(&["man"]);
    r.ok();
    assert!(r.stdout.contains(".TH nwcap 1"), "{}", r.stdout);
    let r = nwcap(&["man", "analyze"]);
    r.ok();
    assert!(r.stdout.contains(".TH nwcap-analyze 1"), "{}", r.stdout);
    assert!(r.stdout.contains("\\-\\-write"), "{}", r.stdout);
    nwcap(&["man", "bogus"]).fails("man bogus", 2, "no command 'bogus'");
}
