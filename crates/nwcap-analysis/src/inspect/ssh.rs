//! The SSH identification string (RFC 4253 §4.2), `SSH-protoversion-softwareversion SP
//! comments CR LF`, from the first bytes a side of an SSH connection sends.
//!
//! It owns only that line: it never reads the binary packets after it (key exchange,
//! algorithms), never copies (every field borrows the payload) and never panics. It reads at
//! most 16 lines of 255 bytes.

/// The longest identification line, CR LF included (RFC 4253 §4.2).
pub const MAX_LINE: usize = 255;
/// Lines a server may send before its identification (RFC 4253 §4.2) that are skipped.
pub const MAX_PRELUDE_LINES: usize = 16;

/// One identification line, each part borrowed from the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ident<'a> {
    /// The whole line without its line end, as tshark's `ssh.protocol` shows it.
    pub line: &'a str,
    /// `2.0`, or `1.99` for a server that also speaks SSH 1.
    pub proto_version: &'a str,
    /// The software version, e.g. `OpenSSH_8.9p1`.
    pub software: &'a str,
    /// What follows the first space, e.g. `Ubuntu-3`; `None` when there is none.
    pub comments: Option<&'a str>,
}

/// A cheap test on a payload's first four bytes: does it start an identification line?
pub fn looks_like_ident(first: &[u8]) -> bool {
    first.starts_with(b"SSH-")
}

/// Finds and parses the identification line: the first line of the payload, or one of the
/// first [`MAX_PRELUDE_LINES`] lines if a server sent text before it. The line must end (CR LF,
/// or LF alone, which OpenSSH accepts and zeek__ssh.pcap shows) within [`MAX_LINE`] bytes and
/// hold only printable ASCII.
pub fn parse_ident(payload: &[u8]) -> Option<Ident<'_>> {
    let mut rest = payload;
    for _ in 0..MAX_PRELUDE_LINES {
        // Only the window a line may fill is searched, so each turn reads at most 255 bytes.
        let window = rest.get(..MAX_LINE.min(rest.len()))?;
        let lf = window.iter().position(|&b| b == b'\n');
        if rest.starts_with(b"SSH-") {
            return ident(rest.get(..lf?)?);
        }
        // A prelude line longer than the window cannot be skipped with certainty: give up.
        rest = rest.get(lf?.checked_add(1)?..)?;
    }
    None
}

/// Splits a line known to start with `SSH-` and end before the LF.
fn ident(line: &[u8]) -> Option<Ident<'_>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if !line.iter().all(|b| (b' '..=b'~').contains(b)) {
        return None;
    }
    // Printable ASCII is UTF-8.
    let line = std::str::from_utf8(line).ok()?;
    let after = line.strip_prefix("SSH-")?;
    let (proto_version, rest) = after.split_once('-')?;
    let (software, comments) = match rest.split_once(' ') {
        Some((s, c)) => (s, Some(c).filter(|c| !c.is_empty())),
        None => (rest, None),
    };
    if proto_version.is_empty() || software.is_empty() || proto_version.contains(' ') {
        return None;
    }
    Some(Ident {
        line,
        proto_version,
        software,
        comments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::testing::{inside, unhex as hex, XorShift};
    fn within(outer: &[u8], inner: &str) -> bool {
        inside(outer, inner.as_bytes())
    }

    /// tcp.payload and tshark's ssh.protocol: zeek__ssh.pcap frames 4, 6, 97, 99 and
    /// zeek__get-to-ssh-server.pcap frame 6.
    const REAL: [(&str, &str); 5] = [
        (
            "5353482d322e302d4f70656e5353485f352e380d0a",
            "SSH-2.0-OpenSSH_5.8",
        ),
        (
            "5353482d322e302d4f70656e5353485f352e390d0a",
            "SSH-2.0-OpenSSH_5.9",
        ),
        (
            "5353482d322e302d4f70656e5353485f362e320d0a",
            "SSH-2.0-OpenSSH_6.2",
        ),
        (
            "5353482d312e39392d4f70656e5353485f362e362e317031205562756e74752d327562756e7475320a",
            "SSH-1.99-OpenSSH_6.6.1p1 Ubuntu-2ubuntu2",
        ),
        (
            "5353482d322e302d4f70656e5353485f382e370d0a",
            "SSH-2.0-OpenSSH_8.7",
        ),
    ];

    #[test]
    fn real_lines_match_tshark() {
        for (payload, want) in REAL {
            let p = hex(payload);
            assert!(looks_like_ident(&p));
            assert_eq!(parse_ident(&p).unwrap().line, want);
        }
        let p = hex(REAL[3].0);
        let i = parse_ident(&p).unwrap();
        assert_eq!(
            (i.proto_version, i.software, i.comments),
            ("1.99", "OpenSSH_6.6.1p1", Some("Ubuntu-2ubuntu2"))
        );
        let p = hex(REAL[4].0);
        let i = parse_ident(&p).unwrap();
        assert_eq!(
            (i.proto_version, i.software, i.comments),
            ("2.0", "OpenSSH_8.7", None)
        );
    }

    #[test]
    fn ident_then_binary_packet() {
        let mut p = b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n".to_vec();
        p.extend_from_slice(&[0, 0, 5, 0xdc, 0x06, 0x14, 0xff, 0x0a]);
        let i = parse_ident(&p).unwrap();
        assert_eq!(i.line, "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3");
        assert_eq!(
            (i.software, i.comments),
            ("OpenSSH_8.9p1", Some("Ubuntu-3"))
        );
    }

    #[test]
    fn prelude_lines_are_skipped() {
        let i = parse_ident(b"Welcome\r\nto the host\nSSH-2.0-dropbear_2022.83\r\n").unwrap();
        assert_eq!((i.proto_version, i.software), ("2.0", "dropbear_2022.83"));
        let mut p = b"x\n".repeat(MAX_PRELUDE_LINES);
        p.extend_from_slice(b"SSH-2.0-late\r\n");
        assert_eq!(parse_ident(&p), None);
    }

    #[test]
    fn refused() {
        let long = format!("SSH-2.0-{}\r\n", "a".repeat(MAX_LINE - 9));
        assert_eq!(long.len(), MAX_LINE + 1);
        assert_eq!(parse_ident(long.as_bytes()), None);
        let fits = format!("SSH-2.0-{}\r\n", "a".repeat(MAX_LINE - 10));
        assert_eq!(fits.len(), MAX_LINE);
        assert!(parse_ident(fits.as_bytes()).is_some());
        for p in [
            &b"SSH-2.0-OpenSSH_8.7"[..],
            b"SSH-2.0-\r\n",
            b"SSH--x\r\n",
            b"SSH-2.0\r\n",
            b"SSH-2.0-caf\xc3\xa9\r\n",
            b"SSH-2.0-a\tb\r\n",
            b"GET / HTTP/1.1\r\n",
            b"",
        ] {
            assert_eq!(parse_ident(p), None, "{p:?}");
        }
        let full = b"SSH-2.0-OpenSSH_8.7\r\n";
        for len in 0..full.len() - 1 {
            assert_eq!(parse_ident(&full[..len]), None);
        }
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = XorShift(0xdead_beef_cafe_f00d);
        let alphabet = b"SH-2.0 \r\nOpenSSH_";
        for round in 0..20_000 {
            let m: Vec<u8> = if round % 2 == 0 {
                let mut m = hex(REAL[rng.below(REAL.len())].0);
                for _ in 0..1 + rng.below(3) {
                    let i = rng.below(m.len());
                    m[i] = if rng.below(2) == 0 {
                        alphabet[rng.below(alphabet.len())]
                    } else {
                        rng.next() as u8
                    };
                }
                m.truncate(rng.below(m.len() + 1));
                m
            } else {
                (0..rng.below(600))
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            };
            let _ = looks_like_ident(&m);
            if let Some(i) = parse_ident(&m) {
                assert!(within(&m, i.line) && i.line.len() < MAX_LINE);
                for part in [i.proto_version, i.software, i.comments.unwrap_or(i.line)] {
                    assert!(within(&m, part));
                }
            }
        }
    }
}
