//! Parsers of flag values clap has no parser for: durations and byte sizes.

use std::time::Duration;

/// Parses a timeline interval: a duration of at least 1 µs (`us` or `µs` as well as the
/// units of [`parse_duration`]), whole microseconds.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let d = match t.strip_suffix("us").or_else(|| t.strip_suffix("µs")) {
        Some(n) => parse_duration(&format!("{n}ms"))? / 1000,
        None => parse_duration(t)?,
    };
    if d < Duration::from_micros(1) || d.subsec_nanos() % 1000 != 0 {
        return Err(format!(
            "'{s}' is not a whole number of microseconds of at least 1us"
        ));
    }
    Ok(d)
}

/// Parses `500ms`, `90s`, `30m`, `2h`, `1d`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (e.g. 90s, 30m, 2h)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        u => return Err(format!("unknown duration unit '{u}' (use ms, s, m, h, d)")),
    };
    if !secs.is_finite() || secs > 3.0e7 {
        return Err(format!("'{s}' is too long"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a byte size with an optional K/M/G suffix (binary: 1K = 1024).
pub fn parse_block_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("not a size: '{s}'"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("unknown size unit in '{s}' (use K, M or G)")),
    };
    let v = n
        .checked_mul(mult)
        .ok_or_else(|| format!("too large: '{s}'"))?;
    if !(64 << 10..=256 << 20).contains(&v) {
        return Err(format!("block size {s} is outside 64KiB..=256MiB"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("50us").unwrap(), Duration::from_micros(50));
        assert_eq!(parse_interval("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(
            parse_interval("2.5ms").unwrap(),
            Duration::from_micros(2500)
        );
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("1.5us").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("").is_err());
    }
}
