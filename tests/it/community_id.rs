//! Community IDs against tshark's (its communityid post-dissector, committed by
//! `scripts/oracle-community-id` in `testdata/oracle/community-id/`): every TCP and UDP
//! 5-tuple tshark names in a corpus file is a flow of nwcap's report with the same ID.

use std::collections::HashMap;

use crate::support::{corpus_files, nwcap};

#[test]
fn community_ids_are_tsharks() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/oracle/community-id");
    let mut compared = 0;
    for file in corpus_files() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let want = std::fs::read_to_string(format!("{dir}/{name}.tsv"))
            .unwrap_or_else(|e| panic!("{name}: run scripts/oracle-community-id ({e})"));
        if want.is_empty() {
            continue;
        }
        let r = nwcap(&["analyze", file.to_str().unwrap(), "-o", "json", "-j", "1"]);
        assert!(matches!(r.code, 0 | 3), "{name}: {}", r.stderr);
        let mut ids: HashMap<(String, [(String, u64); 2]), String> = HashMap::new();
        for f in r.json()["flows"].as_array().unwrap() {
            let (Some(id), Some(lp), Some(rp)) = (
                f["community_id"].as_str(),
                f["local_port"].as_u64(),
                f["remote_port"].as_u64(),
            ) else {
                continue;
            };
            let mut ends = [
                (f["local_ip"].as_str().unwrap().to_string(), lp),
                (f["remote_ip"].as_str().unwrap().to_string(), rp),
            ];
            ends.sort();
            let proto = f["protocol"].as_str().unwrap().to_string();
            assert!(
                ids.insert((proto, ends), id.to_string()).is_none(),
                "{name}: two rows"
            );
        }
        for line in want.lines() {
            let c: Vec<&str> = line.split('\t').collect();
            let mut ends = [
                (c[1].to_string(), c[2].parse().unwrap()),
                (c[3].to_string(), c[4].parse().unwrap()),
            ];
            ends.sort();
            let got = ids.get(&(c[0].to_string(), ends));
            assert_eq!(got.map(String::as_str), Some(c[5]), "{name}: {line}");
            compared += 1;
        }
    }
    assert!(compared > 2000, "{compared}");
}
