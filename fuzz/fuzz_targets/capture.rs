//! Any bytes through reader → decoder → flow table → report must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nwcap::analysis::Analyzer;
use nwcap::capture::Reader;
use nwcap::filter::FilterSet;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = Reader::new(data) else {
        return;
    };
    let mut a = Analyzer::new();
    for r in reader.map_while(Result::ok) {
        a.feed(&r);
    }
    let filters = FilterSet::default();
    let sel = a.select(&filters);
    let _ = nwcap::report::build(&a, &sel, &[], 10);
});
