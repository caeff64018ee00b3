//! Any bytes through reader → decoder → flow table must not panic, and reading them through
//! small windows, each copied or walked in the file's map, must count exactly what one pass
//! over the bytes in memory counts (times going back and interface statistics' drops
//! included), and give the same flows with the same figures (compared through the JSON
//! report, which shows every figure of every flow). Inputs this small are
//! never split into shards (`capture::shard::MIN_SHARD`): `tests/it/parallel.rs` and
//! `tests/it/window.rs` hold the split passes.

use std::io::Write;

use nwcap_analysis::capture::Reader;
use nwcap_analysis::pass::{self, Analyzer, FileCounters};
use nwcap_analysis::source::Windowed;

pub fn run(data: &[u8]) {
    let Ok(mut reader) = Reader::new(data) else {
        return;
    };
    // With sequence analysis, whose state the windows must carry across too.
    let mut a = Analyzer::new().with_health(true);
    let mut whole = FileCounters::default();
    for r in reader.by_ref().map_while(Result::ok) {
        whole.add(&r);
        a.feed(&r);
    }
    // The interface statistics' drops, read with the records.
    let drops = reader.info().drops;
    let want = super::report::json(&a);

    // Tiny windows make records straddle them; windows that hold several small records are
    // the ones the mapped walk takes (`source::window::walk`).
    let b = usize::from(data.last().copied().unwrap_or(0));
    let window = [1, 7, 64, 700, 4096][b % 5] + b / 5;
    // The mapped walk needs a file's map, as `analyze` has.
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(data).expect("write it");
    // SAFETY: the file is ours and is not changed while mapped.
    let map = unsafe { memmap2::Mmap::map(file.as_file()) }.expect("map it");
    for mapped in [false, true] {
        let (mut c, mut b) = (FileCounters::default(), Analyzer::new().with_health(true));
        let w = Windowed {
            src: &data,
            map: mapped.then_some(&map),
            window,
        };
        let reader = Reader::new(data).expect("read before");
        let p = pass::run_parallel(reader, data, Some(w), 2, &mut c, &mut b);
        let how = format!("window {window}, mapped {mapped}");
        assert_eq!(c, whole, "{how}");
        assert_eq!(p.info.drops, drops, "{how}");
        assert_eq!(super::report::json(&b), want, "{how}");
    }
}
