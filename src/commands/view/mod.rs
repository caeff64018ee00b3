//! How the Resource Manager commands show captures to people (tables, `key: value` lists) and
//! to shell scripts (`-o tsv` rows). It only formats what Resource Manager returned; fetching
//! is `azure`'s and choosing the format is the command's.

pub mod capture;
pub mod status;

/// `key: value` lines with the values aligned.
pub fn key_values(rows: &[(&str, String)]) -> String {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    rows.iter()
        .map(|(k, v)| format!("{:<w$} {v}\n", format!("{k}:")))
        .collect()
}

/// A table with a header row, columns padded to their widest cell, no trailing spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

/// Rows as `az -o tsv` prints them: tab-separated, no header. Tabs and line breaks inside a
/// value (never expected from Resource Manager) become spaces, so that a row stays a row.
pub fn tsv(rows: &[Vec<String>]) -> String {
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .map(|c| c.replace(['\t', '\n', '\r'], " "))
                .collect();
            cells.join("\t") + "\n"
        })
        .collect()
}

/// The value, or `-` when there is none (or it is empty).
pub fn or_dash(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_trailing_spaces_and_tsv_no_header() {
        let rows = vec![vec!["a".to_string(), String::new()]];
        assert_eq!(table(&["X", "LONGER"], &rows), "X  LONGER\na\n");
        assert_eq!(tsv(&rows), "a\t\n");
        assert_eq!(or_dash(Some("")), "-");
    }
}
