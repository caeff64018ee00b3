//! Any bytes through reader → decoder → flow table → report must not panic, and reading them
//! through small windows (with and without shards) must count exactly what one in-memory
//! pass counts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nwcap_analysis::pass::{self, Analyzer, FileCounters};
use nwcap_analysis::source::Windowed;
use nwcap_analysis::capture::Reader;
use nwcap_analysis::filter::FilterSet;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = Reader::new(data) else {
        return;
    };
    let mut a = Analyzer::new();
    let mut whole = FileCounters::default();
    for r in reader.map_while(Result::ok) {
        whole.add(&r);
        a.feed(&r);
    }
    let filters = FilterSet::default();
    let sel = a.select(&filters);
    let _ = nwcap_analysis::report::build(&a, &sel, &[], 10, 1);

    let window = 1 + usize::from(data.last().copied().unwrap_or(0) % 64);
    for threads in [1, 2] {
        let (mut c, mut b) = (FileCounters::default(), Analyzer::new());
        // The mapped walk needs a file's map: tests/window.rs holds it to the copied one.
        let w = Windowed {
            src: &data,
            map: None,
            window,
        };
        let Ok(reader) = Reader::new(data) else {
            return;
        };
        pass::run_parallel(reader, data, Some(w), threads, &mut c, &mut b);
        assert_eq!(c, whole, "window {window}, {threads} thread(s)");
        assert_eq!(b.flows.len(), a.flows.len());
    }
});
