//! clap's parse errors in nwcap's one error style: a single `nwcap: ...` line on stderr that
//! names the problem and where to read more, instead of clap's `error:` block with a usage
//! section.

use clap::CommandFactory;

/// One line for a clap error: its message (lines joined, `tip:`s kept), then which `--help`
/// to read: the command's, when `args` name one.
pub fn one_line(e: &clap::Error, args: &[String]) -> String {
    let text = e.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    let message = ["\n\nUsage: ", "\n\nFor more information"]
        .iter()
        .filter_map(|m| text.find(m))
        .min()
        .map_or(text, |i| &text[..i]);
    let mut parts: Vec<String> = Vec::new();
    for line in message.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match parts.last_mut() {
            Some(last) if !line.starts_with("tip:") => {
                last.push(' ');
                last.push_str(line);
            }
            _ => parts.push(line.to_string()),
        }
    }
    let command = crate::cli::Cli::command();
    let sub = args
        .iter()
        .skip(1)
        .find_map(|a| command.get_subcommands().find(|c| c.get_name() == a));
    let help = match sub {
        Some(c) => format!("nwcap {} --help", c.get_name()),
        None => "nwcap --help".to_string(),
    };
    format!("{} (see '{help}')", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn line(args: &[&str]) -> String {
        let owned: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        one_line(&Cli::try_parse_from(args).unwrap_err(), &owned)
    }

    #[test]
    fn one_line_with_the_help_to_read() {
        let l = line(&["nwcap", "list", "--bogus"]);
        assert!(!l.contains('\n'), "{l}");
        assert!(l.starts_with("unexpected argument '--bogus' found"), "{l}");
        assert!(l.ends_with("(see 'nwcap list --help')"), "{l}");
        let l = line(&["nwcap", "show"]);
        assert!(l.contains("<CAPTURE>"), "{l}");
        assert!(!l.contains("error:"), "{l}");
        let l = line(&["nwcap", "analyze", "x.cap", "-o", "yaml"]);
        assert!(l.contains("'yaml'") && l.contains("tsv"), "{l}");
        assert!(!l.contains("For more information"), "{l}");
        assert!(l.ends_with("(see 'nwcap analyze --help')"), "{l}");
    }
}
