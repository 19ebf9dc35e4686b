//! Benchmarks of racecount's own trial code (divan): `cargo bench`.
//!
//! Each figure is a whole trial (fork, gate, increments, reap), measured through the library
//! that the binary uses. Compare with the C baseline side by side with `benches/compare.sh`.

use divan::Bencher;
use divan::counter::ItemsCount;
use racecount::model::lock::Lock;
use racecount::model::mode::Mode;
use racecount::model::settings::{Params, Settings};
use racecount::model::window::Window;
use racecount::race::job::Job;
use racecount::race::page::SharedPage;
use racecount::race::runner::Ground;
use racecount::race::runner::forked::run_forked;
use racecount::race::runner::pooled::Pool;

fn main() {
    divan::main();
}

/// No pause, jitter or trace: the run settings every benchmark shares.
static SETTINGS: std::sync::LazyLock<Settings> = std::sync::LazyLock::new(|| Settings {
    procs: vec![10],
    iters: vec![1],
    windows: vec![Window::Busy(0)],
    trials: 1,
    ..Settings::default()
});

fn job(mode: Mode, procs: u32, iters: u64, window: Window) -> Job<'static> {
    Job {
        mode,
        lock: mode.takes_lock().then_some(Lock::Pthread),
        params: Params {
            procs,
            iters,
            window,
        },
        settings: &SETTINGS,
        replay: None,
    }
}

/// Fork, gate and reap of 10 workers doing one atomic increment each: the trial overhead.
#[divan::bench(sample_count = 300)]
fn trial_overhead(bencher: Bencher) {
    let page = SharedPage::new(10, 0).unwrap();
    let job = job(Mode::Atomic, 10, 1, Window::Busy(0));
    bencher.bench_local(|| run_forked(&page, &job, 0, None).unwrap());
}

/// The same with `--pool`: gate and done report only.
#[divan::bench(sample_count = 300)]
fn trial_overhead_pooled(bencher: Bencher) {
    let page = SharedPage::new(10, 0).unwrap();
    let job = job(Mode::Atomic, 10, 1, Window::Busy(0));
    let ground = Ground {
        page: &page,
        timeout: None,
    };
    let mut pool = Pool::start(ground, &job).unwrap();
    bencher.bench_local(|| pool.run().unwrap());
    pool.finish().unwrap();
}

/// One trial at the lesson's settings: 10 × 20, 1 µs window, in every mode.
#[divan::bench(args = Mode::ALL, sample_count = 100)]
fn lesson_trial(bencher: Bencher, mode: Mode) {
    let page = SharedPage::new(10, 0).unwrap();
    let job = job(mode, 10, 20, Window::Busy(1_000));
    bencher.bench_local(|| run_forked(&page, &job, 0, None).unwrap());
}

/// Per-increment cost: PROCS × 1,000,000 increments, no window. Throughput is increments/s.
#[divan::bench(args = Mode::ALL, consts = [2, 10], sample_count = 3, sample_size = 1)]
fn million_increments<const PROCS: u32>(bencher: Bencher, mode: Mode) {
    let page = SharedPage::new(PROCS as usize, 0).unwrap();
    let job = job(mode, PROCS, 1_000_000, Window::Busy(0));
    bencher
        .counter(ItemsCount::new(u64::from(PROCS) * 1_000_000))
        .bench_local(|| run_forked(&page, &job, 0, None).unwrap());
}
