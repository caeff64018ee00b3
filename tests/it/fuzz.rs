//! The fuzz targets, run in CI on stable Rust: each target's body (`fuzz/src/`, the same files
//! `cargo fuzz` runs) over its committed seeds (`fuzz/seeds/`), then over random mutations of
//! them for a bounded time: `NWCAP_FUZZ_SECONDS` per target (default 25). An input that breaks
//! an invariant is saved under the test's temporary folder and named in the failure, with the
//! seed of the run (`NWCAP_FUZZ_SEED` replays it).

#[path = "../../fuzz/src/lib.rs"]
mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A small, fast generator (xorshift64*); seeded, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four mutations of `data`: bytes flipped or set to edge values, 32-bit fields set to
/// edge values in either byte order, runs inserted, removed or repeated, a tail cut, a piece
/// of another seed spliced in, or a token of `dict` inserted.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>, seeds: &[Vec<u8>], dict: &[&str]) {
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        let at = rng.below(len + 1);
        match rng.below(9) {
            0 if len > 0 => data[at.min(len - 1)] ^= 1 << rng.below(8),
            1 if len > 0 => data[at.min(len - 1)] = [0, 0xff, 0x7f, 0x80, 1][rng.below(5)],
            2 if len >= 4 => {
                let v = [0u32, 1, 0xffff_ffff, 0x8000_0000, 65_535, 65_536][rng.below(6)];
                let b = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                let at = at.min(len - 4);
                data[at..at + 4].copy_from_slice(&b);
            }
            3 => {
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let end = (at + 1 + rng.below(64)).min(len);
                data.drain(at.min(len - 1)..end);
            }
            5 if len > 0 => {
                let start = at.min(len - 1);
                let end = (start + 1 + rng.below(64)).min(len);
                let piece = data[start..end].to_vec();
                data.splice(start..start, piece);
            }
            6 => data.truncate(at),
            7 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let end = (from + 1 + rng.below(256)).min(other.len());
                    data.splice(at..at, other[from..end].iter().copied());
                }
            }
            _ if !dict.is_empty() => {
                let token = dict[rng.below(dict.len())].as_bytes();
                data.splice(at..at, token.iter().copied());
            }
            _ => {}
        }
    }
    data.truncate(1 << 16);
}

/// Every file in `fuzz/seeds/NAME`, sorted.
fn seeds(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(name);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Runs `target` on every seed, then on mutations of them until the time is up; a failure
/// saves its input and fails the test.
fn fuzz(name: &str, seed_dir: &str, dict: &[&str], target: fn(&[u8])) {
    let seeds = seeds(seed_dir);
    assert!(!seeds.is_empty(), "no seeds for {name}");
    let secs = std::env::var("NWCAP_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(25);
    let seed = std::env::var("NWCAP_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut rng = Rng(seed);
    let run = |input: &[u8]| {
        if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{name}-{seed}-{}", input.len()));
            std::fs::write(&path, input).unwrap();
            panic!(
                "fuzz target {name} failed on {} (NWCAP_FUZZ_SEED={seed}); replay it with \
                 `cargo fuzz run {name} {}` or this test",
                path.display(),
                path.display()
            );
        }
    };
    for s in &seeds {
        run(s);
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut execs = seeds.len();
    while Instant::now() < deadline {
        let mut input = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &mut input, &seeds, dict);
        run(&input);
        execs += 1;
    }
    eprintln!("fuzz {name}: {execs} inputs in {secs} s (seed {seed})");
}

#[test]
fn capture_target_on_seeds_and_mutations() {
    fuzz("capture", "capture", &[], targets::capture::run);
}

#[test]
fn report_target_on_seeds_and_mutations() {
    fuzz("report", "capture", &[], targets::report::run);
}

#[test]
fn filter_target_on_seeds_and_mutations() {
    let dict = [
        "protocol=",
        "TCP",
        "UDP",
        "Any",
        "localIPAddress=",
        "remoteIPAddress=",
        "localPort=",
        "remotePort=",
        "localIP=",
        ",",
        ";",
        "-",
        "=",
        "\n",
        "::",
        "::ffff:",
        "10.0.0.1",
        "2001:db8::1",
        "65535",
        "0",
        "255.255.255.255",
    ];
    fuzz("filter", "filter", &dict, targets::filter::run);
}

#[test]
fn inspect_target_on_seeds_and_mutations() {
    let dict = [
        "|",
        "\x16\x03\x01",
        "\x15\x03\x03\x00\x02\x02\x28",
        "GET / HTTP/1.1\r\n",
        "Host: ",
        "HTTP/1.1 200 OK\r\n",
        "SSH-2.0-",
        "\r\n",
        "Cookie: mstshash=",
    ];
    fuzz("inspect", "inspect", &dict, targets::inspect::run);
}

#[test]
fn urls_target_on_seeds_and_mutations() {
    let dict = [
        "sig=",
        "SIG=",
        "Sig=",
        "&",
        "?",
        "%2F",
        "%3D",
        "%",
        "/",
        "//",
        "https://",
        "http://",
        "\n",
        "/subscriptions/",
        "/resourceGroups/",
        "/providers/",
        "Microsoft.Network",
        "/networkWatchers/",
        "/packetCaptures/",
        ".blob.core.windows.net",
        "devstoreaccount1",
        "127.0.0.1:10000",
        "#",
        "@",
        ":",
    ];
    fuzz("urls", "urls", &dict, targets::urls::run);
}
