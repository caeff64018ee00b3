//! Command-line shape: global options and one argument struct per subcommand (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::OutputFormat;

/// Azure Network Watcher packet captures: manage, download, analyze.
#[derive(Debug, Parser)]
#[command(name = "nwcap", version, after_help = crate::exit::HELP)]
pub struct Cli {
    /// More detail on stderr (-v, -vv). Secrets are never printed.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Flow statistics of local capture files (pcap or pcapng, `-` for stdin, .gz ok).
    #[command(after_help = crate::exit::HELP)]
    Analyze(AnalyzeArgs),
}

/// Network Watcher filter fields; they form one filter, or are added to each `--filter`.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Protocol: TCP, UDP or Any.
    #[arg(long)]
    pub protocol: Option<String>,
    /// Local (VM) address: `10.0.0.4`, `10.0.0.1-10.0.0.9`, `10.0.0.4;10.0.0.5`; IPv6 too.
    #[arg(long)]
    pub local_ip: Option<String>,
    /// Remote address, same syntax.
    #[arg(long)]
    pub remote_ip: Option<String>,
    /// Local port: `80`, `80-120`, `80;443`.
    #[arg(long)]
    pub local_port: Option<String>,
    /// Remote port, same syntax.
    #[arg(long)]
    pub remote_port: Option<String>,
    /// A whole filter, `field=value,...` with Network Watcher field names (protocol,
    /// localIPAddress, remoteIPAddress, localPort, remotePort). Repeat to OR several.
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Filters as Network Watcher JSON (a list of PacketCaptureFilter objects, e.g. a
    /// capture's `filters`), inline or `@file`.
    #[arg(long, value_name = "JSON|@FILE")]
    pub filters_json: Option<String>,
}

/// `nwcap analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files; `-` reads standard input. Several files give one merged report.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub output: Option<OutputFormat>,
    /// Rows in the table's flow list and in top talkers.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Write the packets that matched the filters to this capture file (pcap; pcapng when
    /// link types are mixed).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Filters.
    #[command(flatten)]
    pub filter: FilterArgs,
}
