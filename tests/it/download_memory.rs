//! Memory of `nwcap download` with its defaults: the transfer holds what is in flight, not
//! whole partitions re-ordered behind the slowest (which took 157 MiB for a 256 MiB blob).
//! Peak RSS is the kernel's own figure for the child (`wait4`), so no tool is needed. The CPU
//! is kept busy while the child runs: a starved writer is when the most waits in memory.

use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::support::azurite::{self, Azurite};
use crate::support::nwcap_cmd;

const C: &str = "network-watcher-logs";

/// The target, held by the debug build too, on a loaded CPU.
const BOUND_MIB: i64 = 64;

#[test]
// The child is reaped by `wait_with_rusage`, which std's `wait` cannot replace: it gives no
// rusage.
#[allow(clippy::zombie_processes)]
fn a_256_mib_download_stays_within_its_memory_bound() {
    let az = Azurite::with_container(C);
    let blob = "subs/vm/2026/12/05/packetcapture_13_00_00_000.cap";
    let data = || azurite::data(256 << 20, 27);
    az.put_blob_in_blocks(C, blob, &data(), 8 << 20);
    // Nothing big is held from here on: the child's peak counts what it shared with this
    // process before its exec.
    let mut cmd = nwcap_cmd();
    // SAFETY: the hook does nothing. Having one makes std fork instead of spawning on this
    // process's memory, whose past peak (the blob above) would otherwise count as the child's.
    unsafe {
        cmd.pre_exec(|| Ok(()));
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.cap");
    let errors = dir.path().join("stderr");
    let child = cmd
        .args(["download", "-q", "--url", &az.blob_url(C, blob), "--dest"])
        .arg(&dest)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&errors).unwrap())
        .spawn()
        .expect("run nwcap");
    let (code, max_rss_kib) = while_cpu_busy(|| wait_with_rusage(child.id()));
    assert_eq!(
        code,
        0,
        "nwcap failed: {}",
        std::fs::read_to_string(&errors).unwrap_or_default()
    );
    let got = std::fs::read(&dest).unwrap();
    assert!(got == data(), "the downloaded file differs from the blob");
    let mib = max_rss_kib / 1024;
    eprintln!("peak RSS {mib} MiB");
    assert!(
        mib <= BOUND_MIB,
        "peak RSS {mib} MiB, bound {BOUND_MIB} MiB"
    );
}

/// Runs `f` while one thread per CPU spins, so that the child competes for every core.
fn while_cpu_busy<T>(f: impl FnOnce() -> T) -> T {
    /// Stops the spinners when dropped, also when `f` panics.
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let stop = Stop(Arc::new(AtomicBool::new(false)));
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    for _ in 0..cpus {
        let stop = stop.0.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
    }
    f()
}

/// Reaps the child `pid`: its exit code and peak RSS in KiB.
fn wait_with_rusage(pid: u32) -> (i32, i64) {
    let mut status = 0;
    // SAFETY: plain syscall on our own child; both out-pointers are valid for the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(
        r,
        pid as libc::pid_t,
        "wait4: {}",
        std::io::Error::last_os_error()
    );
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss)
}
