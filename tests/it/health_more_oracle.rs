//! nwcap's data→ACK RTTs, window-full segments and DF segments over the peer's MSS held to
//! tshark on every corpus capture, per flow and direction. The expected figures are tshark
//! 4.0's (`tcp.analysis.ack_rtt`, `tcp.analysis.window_full`; DF over MSS computed from its
//! `ip.flags.df`, `tcp.len` and `tcp.options.mss_val`), committed under
//! `testdata/oracle/tcp-more/` by `scripts/oracle-tcp-more`. The RTT samples' number and
//! maximum must be equal; the median too where nwcap keeps the samples (16 or fewer), else
//! within the histogram's bound for their spread (1/32 within a factor of 4, twice that for
//! each doubling of the spread's octaves).

use serde_json::Value;

use crate::support::nwcap;

/// tshark's seconds (9 decimals) in nanoseconds.
fn ns(v: &Value) -> Option<i128> {
    let s = v.as_str()?;
    let neg = s.starts_with('-');
    let (whole, frac) = s.trim_start_matches('-').split_once('.').unwrap();
    let n = whole.parse::<i128>().unwrap() * 1_000_000_000 + frac.parse::<i128>().unwrap();
    Some(if neg { -n } else { n })
}

/// nwcap's seconds (a JSON float) in nanoseconds, rounded.
fn ns_of(v: &Value) -> Option<i128> {
    v.as_f64().map(|s| (s * 1e9).round() as i128)
}

/// The histogram's resolution (2^k buckets per doubling) for samples from `min` to `max` ns,
/// at least: 16 per doubling, halved while more than 32 buckets could be needed. The median
/// is then within 1/2^(k+1).
fn resolution(min: i128, max: i128) -> u32 {
    let msb = |v: i128| 127 - v.max(32).leading_zeros();
    let octaves = msb(max) - msb(min) + 1;
    (0..=4).rev().find(|k| octaves << k <= 32).unwrap_or(0)
}

#[test]
fn rtts_window_full_and_df_over_mss_equal_tsharks_on_every_corpus_capture() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/oracle/tcp-more");
    let (mut flows_compared, mut samples, mut medians_exact, mut df) = (0, 0, 0, 0);
    let mut coarse = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let oracle: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let flows = oracle["flows"].as_array().unwrap();
        if flows.is_empty() {
            continue;
        }
        let name = oracle["file"].as_str().unwrap();
        let capture = crate::support::corpus(name);
        let r = nwcap(&[
            "analyze",
            capture.to_str().unwrap(),
            "--health",
            "-o",
            "json",
        ]);
        let report = r.json();
        for want in flows {
            let [from_lo, from_hi] = crate::health_oracle::directions(&report, want, name);
            flows_compared += 1;
            for (theirs, ours) in [(&want["from_lo"], from_lo), (&want["from_hi"], from_hi)] {
                let at = format!("{name}: {} of {want}", ours);
                assert_eq!(ours["window_full"], theirs["window_full"], "{at}");
                assert_eq!(ours["df_over_mss"], theirs["df_over_mss"], "{at}");
                df += theirs["df_over_mss"].as_u64().unwrap();
                let rtt = &theirs["ack_rtt"];
                let n = rtt["samples"].as_u64().unwrap();
                assert_eq!(ours["ack_rtt_samples"].as_u64(), Some(n), "{at}");
                samples += n;
                assert_eq!(ns_of(&ours["ack_rtt_max_s"]), ns(&rtt["max"]), "{at}");
                let (m, want_m) = (ns_of(&ours["ack_rtt_median_s"]), ns(&rtt["median"]));
                if n <= 16 {
                    assert_eq!(m, want_m, "{at}");
                    medians_exact += u64::from(n > 0);
                } else {
                    let (m, w) = (m.unwrap(), want_m.unwrap());
                    let k = resolution(ns(&rtt["min"]).unwrap(), ns(&rtt["max"]).unwrap());
                    assert!(
                        (m - w).abs() << (k + 1) <= w.abs(),
                        "median {m} vs {w}: {at}"
                    );
                    coarse += u64::from(k < 4);
                }
            }
        }
    }
    assert!(
        flows_compared >= 100 && samples > 50_000 && medians_exact > 100 && df > 0,
        "{flows_compared} flows, {samples} samples, {medians_exact} exact medians, {df} DF"
    );
    eprintln!("{coarse} medians from a histogram coarser than 16 buckets per doubling");
}
