//! The text after each command's `--help` options: its examples, then the exit codes. The
//! examples are tested to parse, so they cannot drift from the flags.

use crate::exit;

/// Each command's examples: `(command, [(command line, comment)])`.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "analyze",
        &[
            ("nwcap analyze capture.cap", "tables on a terminal"),
            ("nwcap analyze a.cap b.pcapng -o json > report.json", "one merged report"),
            ("nwcap analyze x.cap --protocol TCP --remote-port 443 -o csv", "only HTTPS flows"),
            ("nwcap analyze --capture TestCapture -l westeurope", "read from Blob Storage as it downloads"),
        ],
    ),
    (
        "download",
        &[
            ("nwcap download TestCapture -l westeurope", "into the current folder"),
            ("nwcap download TestCapture -g rg1 -w nw1 --dest captures/", "into a folder"),
            ("nwcap download --url https://acct.blob.core.windows.net/c/x.cap --sas \"$SAS\" --dest x.cap", "one blob, by URL"),
            ("nwcap download TestCapture -l westeurope -o json", "what was saved, for scripts"),
        ],
    ),
    (
        "list",
        &[
            ("nwcap list -l westeurope", "the default watcher of a region"),
            ("nwcap list -g rg1 -w nw1 -o json | jq '.[].name'", "as Resource Manager returns them"),
            ("nwcap list -l westeurope -o tsv | cut -f1", "names, for a shell loop"),
        ],
    ),
    (
        "show",
        &[
            ("nwcap show TestCapture -l westeurope", "settings, target and file"),
            ("nwcap show /subscriptions/SUB/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope/packetCaptures/TestCapture -o json", "by resource id"),
        ],
    ),
    (
        "status",
        &[
            ("nwcap status TestCapture -l westeurope", "running, stopped or failed, and why"),
            ("nwcap status TestCapture -l westeurope -o json | jq -r .packetCaptureStatus", "the state alone"),
        ],
    ),
    (
        "start",
        &[
            ("nwcap start pc1 -l westeurope --vm VM_ID --storage-account ACCOUNT_ID", "whole packets, service limits"),
            ("nwcap start pc2 -l westeurope --vmss VMSS_ID --include-instances 0,1 --storage-account ACCOUNT_ID --protocol TCP --remote-port 443 --time-limit 600", "two instances, HTTPS only, 10 minutes"),
            ("nwcap start pc3 -l westeurope --vm VM_ID --file-path /var/captures/pc3.cap --continuous --file-count 5", "a ring buffer on the VM"),
        ],
    ),
    (
        "stop",
        &[
            ("nwcap stop TestCapture -l westeurope", "its file is then complete"),
            ("nwcap stop TestCapture -l westeurope && nwcap analyze --capture TestCapture -l westeurope", "stop, then analyze"),
        ],
    ),
    (
        "wait",
        &[
            ("nwcap wait TestCapture -l westeurope --timeout 30m", "exit 8 if still running then"),
            ("nwcap wait TestCapture -l westeurope --interval 30s && nwcap download TestCapture -l westeurope", "download once it ends"),
        ],
    ),
    (
        "delete",
        &[
            ("nwcap delete TestCapture -l westeurope", "the resource; its file stays"),
            ("nwcap delete TestCapture -l westeurope --delete-files", "the file in storage too"),
        ],
    ),
    (
        "capture",
        &[
            ("nwcap capture pc1 -l westeurope --vm VM_ID --storage-account ACCOUNT_ID --duration 5m", "five minutes, then the report"),
            ("nwcap capture pc2 -l westeurope --vm VM_ID --storage-account ACCOUNT_ID --remote-port 443 -o json > report.json", "HTTPS only, until Ctrl-C"),
            ("nwcap capture pc3 -l westeurope --vmss VMSS_ID --include-instances 0,1 --storage-account ACCOUNT_ID --duration 2m --download captures/ --keep", "two instances; keep the files and the capture"),
        ],
    ),
    (
        "completions",
        &[
            ("nwcap completions bash > ~/.local/share/bash-completion/completions/nwcap", "bash"),
            ("nwcap completions zsh > ~/.zfunc/_nwcap", "zsh (with ~/.zfunc in $fpath)"),
            ("nwcap completions fish > ~/.config/fish/completions/nwcap.fish", "fish"),
            ("nwcap completions powershell >> $PROFILE", "PowerShell"),
        ],
    ),
    (
        "man",
        &[
            ("nwcap man > nwcap.1 && man ./nwcap.1", "the main page"),
            ("nwcap man analyze > nwcap-analyze.1", "one command's page"),
        ],
    ),
];

/// The text after `nwcap COMMAND --help`'s options: its examples, then (for the commands that
/// do the work) the exit codes.
pub fn after(command: &str) -> String {
    let mut text = String::from("Examples:");
    let examples = EXAMPLES
        .iter()
        .find(|(c, _)| *c == command)
        .map_or(&[][..], |(_, e)| e);
    for (line, comment) in examples {
        text.push_str(&format!("\n  # {comment}\n  {line}"));
    }
    if !matches!(command, "completions" | "man") {
        text.push_str("\n\n");
        text.push_str(exit::help());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::{CommandFactory, Parser};

    /// The nwcap part of a shell line: up to the first pipe, redirection or `&&`, with
    /// quotes removed.
    fn words(line: &str) -> Vec<String> {
        line.split_whitespace()
            .take_while(|w| !matches!(*w, "|" | ">" | ">>" | "&&"))
            .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_string())
            .collect()
    }

    #[test]
    fn every_command_has_two_to_four_examples_that_parse() {
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name();
            let (_, examples) = EXAMPLES
                .iter()
                .find(|(c, _)| *c == name)
                .unwrap_or_else(|| panic!("no examples for {name}"));
            assert!((2..=4).contains(&examples.len()), "{name}");
            for (line, _) in *examples {
                let w = words(line);
                assert_eq!(w[1], name, "{line}");
                if let Err(e) = Cli::try_parse_from(&w) {
                    panic!("example does not parse: {line}\n{e}");
                }
            }
        }
    }
}
