//! Where the report goes and how wide it may be, and `-v`'s memory line.

use std::fs::File;
use std::io::{self, IsTerminal, Write};

/// The width the table must fit: `COLUMNS` when set, else the terminal's when standard output
/// is one; `None` (no limit) for a pipe or a file.
pub(super) fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
    {
        return Some(n).filter(|&n| n > 0);
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ fills the `winsize` it is given and nothing else.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        if ok && ws.ws_col > 0 {
            return Some(usize::from(ws.ws_col));
        }
    }
    None
}

/// Where the report goes: standard output. Flow rows come in chunks of megabytes, and the
/// standard handle is line-buffered: it would scan every chunk for its last newline before
/// passing it on. A duplicate of the descriptor takes the chunks as they are; the standard
/// handle remains where there is none (no descriptor 1, or not a Unix).
pub(super) fn report_output() -> Box<dyn Write> {
    #[cfg(unix)]
    if let Ok(fd) = std::os::fd::AsFd::as_fd(&io::stdout()).try_clone_to_owned() {
        return Box::new(File::from(fd));
    }
    Box::new(io::stdout().lock())
}

/// Peak and current memory from `/proc/self/status`, file-backed (mapped captures, of which the
/// pass touches only a few pages since it reads through a window) apart from anonymous
/// (nwcap's own tables and windows), so the two are never confused.
pub(super) fn print_memory() {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
            .map_or_else(
                || "?".to_string(),
                |kb| format!("{:.1} MB", kb as f64 / 1024.0),
            )
    };
    eprintln!(
        "nwcap: memory: peak RSS {} (mapped pages included); at exit anonymous {}, file-backed {}",
        field("VmHWM:"),
        field("RssAnon:"),
        field("RssFile:")
    );
}
