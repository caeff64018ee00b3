//! Times as reports print them: timestamps in RFC 3339 (UTC, with nanoseconds) and durations
//! in seconds ([`Secs`]), rendered by hand for the row writers. It owns how a time reads; it
//! never decides which times a row holds.

use super::chunk::Row;
use super::digits::{ascii, eight_digits, DIGIT_PAIRS};

/// Formats nanoseconds since the epoch as `2026-11-25T08:00:00.123456789Z`.
pub fn rfc3339(ns: i64) -> String {
    Timestamp(ns).to_string()
}

/// A timestamp (nanoseconds since the epoch) that displays and serializes as RFC 3339 without
/// allocating: reports print hundreds of thousands of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timestamp(pub i64);

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = self.0;
        let secs = ns.div_euclid(1_000_000_000);
        let frac = ns.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        )
    }
}

impl Timestamp {
    /// Writes the RFC 3339 text into `buf` by hand: formatting machinery costs more than the
    /// rest of a report row.
    pub fn render(self, buf: &mut [u8; 30]) -> &str {
        let n = self.render_ascii(buf);
        std::str::from_utf8(&buf[..n]).unwrap_or_default()
    }

    /// Like [`Timestamp::render`], as ASCII bytes: the report writers copy them straight into
    /// their output. Returns the length.
    pub(crate) fn render_ascii(self, buf: &mut [u8; 30]) -> usize {
        let ns = self.0;
        // One signed division, by a minute's nanoseconds: what is left is below 60 * 10^9 and
        // splits unsigned (each signed `div_euclid` and `rem_euclid` costs its own fix-ups).
        let minute = ns.div_euclid(60_000_000_000);
        let in_minute = ns.rem_euclid(60_000_000_000) as u64;
        let (second, frac) = (
            (in_minute / 1_000_000_000) as u32,
            (in_minute % 1_000_000_000) as u32,
        );
        let cached = MINUTES.with_borrow_mut(|minutes| {
            // Direct-mapped by the minute's low bits.
            let slot = &mut minutes[(minute as usize) % MINUTE_SLOTS];
            if slot.0 != minute {
                *slot = (minute, minute_text(minute)?);
            }
            Some(slot.1)
        });
        let Some(text) = cached else {
            // Outside four-digit years the general formatter handles signs and widths.
            let s = self.to_string();
            let n = s.len().min(30);
            buf[..n].copy_from_slice(&s.as_bytes()[..n]);
            return n;
        };
        buf[..17].copy_from_slice(&text);
        let i = 2 * second as usize;
        buf[17..19].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        buf[19..29].copy_from_slice(&fraction(frac).0);
        buf[29] = b'Z';
        30
    }
}

/// `2026-11-25T08:00:` for the `minute`-th minute since the epoch; `None` outside four-digit
/// years.
fn minute_text(minute: i64) -> Option<[u8; 17]> {
    let (y, m, d) = civil_from_days(minute.div_euclid(1440));
    if !(0..=9999).contains(&y) {
        return None;
    }
    let of_day = minute.rem_euclid(1440) as u32;
    let mut text = *b"0000-00-00T00:00:";
    let mut put2 = |at: usize, v: u32| {
        let i = 2 * v as usize;
        text[at..at + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
    };
    put2(0, y as u32 / 100);
    put2(2, y as u32 % 100);
    put2(5, m);
    put2(8, d);
    put2(11, of_day / 60);
    put2(14, of_day % 60);
    Some(text)
}

/// Minutes whose text [`Timestamp::render_ascii`] keeps.
const MINUTE_SLOTS: usize = 64;

thread_local! {
    /// Minutes [`Timestamp::render_ascii`] wrote, and their text up to the seconds: the
    /// calendar arithmetic and the digits of the date and time were most of a timestamp's
    /// cost. Reports list flows by size, so consecutive rows jump between the minutes of the
    /// capture: keeping only the last one missed for most rows of a capture of two minutes.
    static MINUTES: std::cell::RefCell<[(i64, [u8; 17]); MINUTE_SLOTS]> =
        const { std::cell::RefCell::new([(i64::MIN, [0; 17]); MINUTE_SLOTS]) };
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        s.serialize_str(self.render(&mut buf))
    }
}

/// Seconds between two optional timestamps (see [`Secs::as_f64`]).
pub fn duration_s(first: Option<i64>, last: Option<i64>) -> Option<f64> {
    Secs::between(first, last).map(Secs::as_f64)
}

/// The time between two timestamps, kept in nanoseconds: reports show it in seconds, as the
/// `f64` [`Secs::as_f64`] makes of it (and serialize it so), but writers that print its
/// digits take them from the integer, without the float's round trip (a multiplication, a
/// rounding and a checking division per duration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Secs(pub i128);

impl Secs {
    /// From `first` to `last`. pcapng timestamps are clamped to the ends of the 64-bit range,
    /// so the difference can need 65 bits.
    pub fn between(first: Option<i64>, last: Option<i64>) -> Option<Secs> {
        Some(Secs(i128::from(last?) - i128::from(first?)))
    }

    /// In seconds: the `f64` nearest to the nanoseconds, over 10^9. Taken from 64 bits where
    /// they suffice (the same float; converting 128 bits is a library call).
    pub fn as_f64(self) -> f64 {
        match i64::try_from(self.0) {
            Ok(ns) => ns as f64 / 1e9,
            Err(_) => self.0 as f64 / 1e9,
        }
    }

    /// Whole seconds and nanoseconds, from 10 µs up to 10^6 s, where the shortest decimal
    /// that reads back as [`Secs::as_f64`] is the exact one: that float is the nearest to
    /// `ns / 10^9`, which has at most 15 significant digits; two such decimals are at least
    /// 10^-15 of their magnitude apart, several times the width of the interval that rounds
    /// to one `f64`, so no other decimal of as few digits reads back as it. From 10^-5 up,
    /// Rust's and `serde_json`'s formatters write it in plain notation. `None` elsewhere.
    #[inline]
    pub(crate) fn exact(self) -> Option<(u64, u32)> {
        let ns = u64::try_from(self.0).ok()?;
        (10_000..1_000_000_000_000_000)
            .contains(&ns)
            .then_some((ns / 1_000_000_000, (ns % 1_000_000_000) as u32))
    }

    /// Writes the digits of [`Secs::exact`], whole seconds ending in `whole` (`.0` in JSON,
    /// nothing in Rust's `Display`): what `serde_json` and `Display` write for
    /// [`Secs::as_f64`]. Returns `false`, writing nothing, outside its range.
    #[inline(always)]
    pub(super) fn write_exact(self, whole: &[u8], r: &mut Row) -> bool {
        let Some((int, frac)) = self.exact() else {
            return false;
        };
        r.int(int);
        match frac_text(frac) {
            Some((text, len)) => r.part(&text, len),
            None => r.bytes(whole),
        }
        true
    }
}

impl std::fmt::Display for Secs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_f64().fmt(f)
    }
}

impl serde::Serialize for Secs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

/// `.` and the nine digits of `frac` nanoseconds, and how many of those ten bytes to keep
/// (trailing zeros cut); `None` for 0.
#[inline]
fn frac_text(frac: u32) -> Option<([u8; 10], usize)> {
    if frac == 0 {
        return None;
    }
    let (text, last8) = fraction(frac);
    // `frac` was not 0, so a digit other than 0 ends the number: the highest byte of the
    // last eight digits that is not 0 is the last digit kept (a scan for it ended in a branch
    // mispredicted from one duration to the next).
    let end = 2 + (64 - last8.leading_zeros() as usize).div_ceil(8);
    Some((text, end))
}

/// `.` and the nine digits of `frac` (below 10^9) nanoseconds, and the last eight as
/// [`eight_digits`] gives them.
#[inline]
fn fraction(frac: u32) -> ([u8; 10], u64) {
    let mut text = [b'.'; 10];
    text[1] = b'0' + (frac / 100_000_000) as u8;
    let last8 = eight_digits(frac % 100_000_000);
    text[2..].copy_from_slice(&ascii(last8));
    (text, last8)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::rfc3339;
    use crate::report::chunk::Chunk;

    /// `Secs::write_exact` writes what serde_json and `Display` write for the float, or
    /// leaves the value to them: durations log-uniform over and around its range, round
    /// values, negative ones, the range's edges and the 65-bit extremes.
    #[test]
    fn seconds_are_written_as_the_float_formatters_write_them() {
        use super::Secs;
        use serde_json::ser::{CompactFormatter, Formatter};
        let mut next = crate::report::testing::xorshift(0x2545_F491_4F6C_DD1D);
        let mut values: Vec<i128> = Vec::new();
        for _ in 0..200_000 {
            let r = next();
            let digits = (r % 19) as u32;
            let ns = i128::from((r >> 8) % 10u64.pow(digits).max(1));
            let ns = match r >> 5 & 7 {
                0 => ns / 1000 * 1000,
                1 => ns / 1_000_000 * 1_000_000,
                2 => -ns,
                _ => ns,
            };
            values.push(ns);
        }
        let extreme = i128::from(i64::MAX) - i128::from(i64::MIN);
        values.extend([
            9_999,
            10_000,
            10_001,
            999_999_999_999_999,
            1_000_000_000_000_000,
        ]);
        values.extend([
            0,
            1,
            1_000_000_000,
            100_000_000,
            510_000_000,
            extreme,
            -extreme,
        ]);
        let mut fast = 0;
        for ns in values {
            let (s, v) = (Secs(ns), Secs(ns).as_f64());
            let (mut json, mut display) = (Chunk::default(), Chunk::default());
            let exact = json.write_row(|r| s.write_exact(b".0", r));
            assert_eq!(display.write_row(|r| s.write_exact(b"", r)), exact);
            if exact {
                fast += 1;
                let mut theirs = Vec::new();
                CompactFormatter.write_f64(&mut theirs, v).unwrap();
                assert_eq!(
                    String::from_utf8(json.as_slice().to_vec()).unwrap(),
                    String::from_utf8(theirs).unwrap(),
                    "{ns}"
                );
                assert_eq!(display.as_slice(), v.to_string().as_bytes(), "{ns}");
            } else {
                assert!(json.as_slice().is_empty());
                assert!(!(10_000..1_000_000_000_000_000).contains(&ns), "{ns}");
            }
            assert_eq!(s.to_string(), v.to_string());
        }
        assert!(fast > 50_000, "{fast}");
    }

    #[test]
    fn hand_rendering_matches_the_formatter() {
        let mut x: i64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for t in [
                x,
                x.rem_euclid(4_102_444_800_000_000_000),
                0,
                -1,
                86_399_999_999_999,
            ] {
                let mut buf = [0u8; 30];
                assert_eq!(
                    super::Timestamp(t).render(&mut buf),
                    super::Timestamp(t).to_string()
                );
            }
        }
        // Times about a second apart, as a capture's are, so that most reuse the text of the
        // minute before them: across minutes, days and a year's end, before and after 1970,
        // with a time of another century now and then.
        for start in [-180_000_000_000, 1_704_067_020_000_000_000] {
            for k in 0..2_000 {
                let mut buf = [0u8; 30];
                let t = start + k * 997_000_123;
                assert_eq!(
                    super::Timestamp(t).render(&mut buf),
                    super::Timestamp(t).to_string()
                );
                if k % 300 == 0 {
                    let far = super::Timestamp(i64::MAX - k);
                    assert_eq!(far.render(&mut buf), far.to_string());
                }
            }
        }
    }

    #[test]
    fn durations_span_the_whole_range() {
        use super::duration_s;
        assert_eq!(
            duration_s(Some(i64::MIN), Some(i64::MAX)),
            Some(u64::MAX as f64 / 1e9)
        );
        assert_eq!(
            duration_s(Some(i64::MAX), Some(i64::MIN)),
            Some(-(u64::MAX as f64) / 1e9)
        );
        assert_eq!(duration_s(None, Some(0)), None);
        let mut x: i64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (a, b) = (x >> 1, (x >> 1).wrapping_add(x % 1_000_000_000_000));
            if let Some(d) = b.checked_sub(a) {
                assert_eq!(duration_s(Some(a), Some(b)), Some(d as f64 / 1e9));
            }
        }
    }

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        // `date -u -d @1300475167.096535` → 2011-03-18T19:06:07
        assert_eq!(
            rfc3339(1_300_475_167_096_535_000),
            "2011-03-18T19:06:07.096535000Z"
        );
        assert_eq!(
            rfc3339(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
    }
}
