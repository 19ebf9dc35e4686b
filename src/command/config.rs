//! The validated configuration: options are checked here, once, before anything is forked.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use crate::command::cli::{ColorArg, ModeArg, Options};
use crate::machine::Load;
use crate::output::export::{Export, ExportKind};
use crate::output::format::Format;
use crate::race::lock::Lock;
use crate::race::mode::Mode;
use crate::race::page::trace_row_bytes;
use crate::race::pin::{Pin, allowed_cpus};
use crate::race::schedule::Strategy;
use crate::race::window::Window;
use crate::results::Keep;

/// Most shared memory `--trace` may take for its rows: 256 MiB.
pub(crate) const TRACE_CAP_BYTES: u64 = 256 << 20;

/// One combination of the swept parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Params {
    pub procs: u32,
    pub iters: u64,
    pub window: Window,
}

impl Params {
    /// procs × iters: what the counter reads when no update is lost. Validated not to overflow.
    pub fn expected(&self) -> u64 {
        u64::from(self.procs) * self.iters
    }
}

/// What the trials are: every setting that shapes what the workers do, kept once and
/// borrowed by the runner, the workers and the renderers (which show it).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub procs: Vec<u32>,
    pub iters: Vec<u64>,
    pub windows: Vec<Window>,
    pub trials: u64,
    pub modes: Vec<Mode>,
    pub sleep_ns: u64,
    pub jitter_ns: u64,
    pub seed: u64,
    /// Reuse one set of workers for every trial of a mode.
    pub pool: bool,
    /// Record and explain every increment (`--trace`, implied by `--trace-svg`).
    pub trace: bool,
    /// `--schedule`, with `--switch` folded in: who steps when, from the seed.
    pub schedule: Option<Strategy>,
    /// Where the counter lives, as shown (`--store`; no credentials).
    pub store: crate::store::Shown,
    /// The CPUs racecount may use and how busy they were, read once before the run.
    pub load: Load,
    /// The locks `mutex` and `per-access` take (`--lock`), each a group of its own.
    pub locks: Vec<Lock>,
    /// Workers are threads of racecount, not forked processes (`--threads`).
    pub threads: bool,
    /// `--pin` as given, for display.
    pub pin: Pin,
    /// The CPUs the workers go round robin over (worker i on `pin_cpus[i % len]`); empty when
    /// not pinned. Checked to be CPUs racecount may use.
    pub pin_cpus: Vec<usize>,
}

/// Everything a run needs, validated: what the trials are, and how to run and show them.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub format: Format,
    pub check: bool,
    /// Longest a trial may take, from gate release.
    pub timeout: Option<Duration>,
    pub color: bool,
    /// Show a progress bar on stderr for long runs (stderr is a terminal, no --quiet).
    pub progress: bool,
    /// Extra files to write after the run (`--trace-svg`, `--export-*`).
    pub exports: Vec<Export>,
    /// Where the counter lives (`--store`, `--isolation`), with its connection details.
    pub store: crate::store::Target,
    /// Options given that this run cannot use, each said on stderr before it starts.
    pub warnings: Vec<String>,
}

/// `--window`'s default, 1us (as in cli.rs).
const DEFAULT_WINDOW_NS: u64 = 1_000;

/// Bad input: one line naming the option and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// Validates parsed options against each other and against this machine's process room.
    pub fn from_options(options: Options) -> Result<Config, ConfigError> {
        Config::with_room(options, process_room())
    }

    /// As [`from_options`](Self::from_options), with the process room given (for tests).
    pub fn with_room(options: Options, room: Room) -> Result<Config, ConfigError> {
        let exports = exports(&options)?;
        let warnings = unused_options(&options, &exports);
        let procs = dedup(options.procs);
        let iters = dedup(options.iters);
        let windows = dedup(options.window);
        let modes = expand_modes(&options.mode);

        let max_procs = *procs.iter().max().expect("clap gives at least one value");
        let max_iters = *iters.iter().max().expect("clap gives at least one value");
        check_size(max_procs, max_iters, &room)?;

        let trace = options.trace || options.trace_svg.is_some();
        if trace {
            check_trace_size(max_procs, max_iters)?;
        }

        let locks = dedup(options.lock);
        check_locks(&locks, &modes, &procs, options.threads)?;
        if options.threads && options.pool {
            return Err(ConfigError(
                "--threads with --pool: threads are not forked, so there is no pool to keep; \
                 drop one of them"
                    .into(),
            ));
        }
        let pin_cpus = options.pin.cpus(&allowed_cpus()).map_err(ConfigError)?;

        let (schedule, windows) = schedule_and_windows(options.schedule, options.switch, windows)?;
        let timeout = options.timeout.map(Duration::from_nanos);
        let asked = Asked {
            trace,
            scheduled: options.schedule.is_some(),
            threads: options.threads,
        };
        let store = store_target(&options.store, options.isolation, timeout, asked)?;
        check_scheduled_locks(&locks, &modes, schedule.is_some())?;
        let seed = options.seed.unwrap_or_else(|| rand::random::<u64>() >> 16);
        let progress = !options.quiet && std::io::stderr().is_terminal();
        let color = match options.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stdout().is_terminal() && !no_color(std::env::var_os("NO_COLOR"))
            }
        };
        Ok(Config {
            warnings,
            settings: Settings {
                procs,
                iters,
                windows,
                trials: options.trials,
                modes,
                sleep_ns: options.sleep,
                jitter_ns: options.jitter,
                seed,
                pool: options.pool,
                trace,
                schedule,
                store: crate::store::Shown::of(&store),
                load: Load::detect(),
                locks,
                threads: options.threads,
                pin: options.pin,
                pin_cpus,
            },
            format: options.format,
            check: options.check,
            timeout,
            color,
            progress,
            exports,
            store,
        })
    }

    /// What the format and every extra file need kept of each trial.
    pub fn keep(&self) -> Keep {
        self.exports
            .iter()
            .fold(self.format.keep(), |keep, export| {
                keep.and(export.kind.keep())
            })
    }
}

/// Options that were given but that this format or these settings cannot use: said, not
/// silently dropped.
fn unused_options(options: &Options, exports: &[Export]) -> Vec<String> {
    let mut unused = Vec::new();
    let format = options.format;
    let shown = |kind| exports.iter().any(|e| e.kind == kind);
    if options.trace
        && !matches!(format, Format::Human | Format::Json)
        && !shown(ExportKind::Json)
        && !shown(ExportKind::TraceSvg)
    {
        unused.push(format!(
            "--format {} does not show what --trace finds (human and json do, and \
             --export-json, --trace-svg); the trials are still traced and checked",
            format.name()
        ));
    }
    if options.seed.is_some() && !seed_used(options) {
        unused.push(
            "--seed only drives --jitter's pauses and a random --schedule; without them it \
             changes nothing"
                .into(),
        );
    }
    if options.color != ColorArg::Auto && format != Format::Human {
        unused.push(format!(
            "--color applies to human output only, not to --format {}",
            format.name()
        ));
    }
    unused
}

/// Whether anything random is drawn from --seed. (An option that draws from it adds itself.)
fn seed_used(options: &Options) -> bool {
    options.jitter > 0 || options.schedule.is_some_and(|s| s.is_random())
}

/// Whether NO_COLOR asks for no color: set and not empty (no-color.org).
fn no_color(value: Option<std::ffi::OsString>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

/// The extra files asked for, each checked to be writable before anything is forked.
fn exports(options: &Options) -> Result<Vec<Export>, ConfigError> {
    let asked = [
        (ExportKind::TraceSvg, &options.trace_svg),
        (ExportKind::Json, &options.export_json),
        (ExportKind::Csv, &options.export_csv),
        (ExportKind::Markdown, &options.export_markdown),
    ];
    let mut exports = Vec::new();
    for (kind, path) in asked {
        if let Some(path) = path {
            check_writable(kind.option(), path)?;
            exports.push(Export {
                kind,
                path: path.clone(),
            });
        }
    }
    Ok(exports)
}

/// Refuses a file that could not be written after the run: a directory, a missing or
/// read-only directory, a read-only file. Creates nothing.
fn check_writable(option: &str, path: &Path) -> Result<(), ConfigError> {
    use nix::unistd::{AccessFlags, access};
    let fail = |why: String| Err(ConfigError(format!("{option} {}: {why}", path.display())));
    if path.is_dir() {
        return fail("is a directory".into());
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return fail(format!("no directory {}", dir.display()));
    }
    // An existing file is opened for writing, not truncated: that also catches what
    // access(2) lets root through (files in /proc, say).
    let writable = if path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map(drop)
            .map_err(|e| e.to_string())
    } else {
        access(dir, AccessFlags::W_OK).map_err(|errno| errno.desc().to_string())
    };
    match writable {
        Ok(()) => Ok(()),
        Err(why) => fail(format!("cannot write there: {why}")),
    }
}

impl Default for Settings {
    /// What a bare `racecount` runs (the seed aside, which is drawn at random).
    fn default() -> Settings {
        let options = <Options as clap::Parser>::parse_from(["racecount"]);
        let room = Room {
            limit: None,
            why: String::new(),
        };
        Config::with_room(options, room)
            .expect("the defaults are valid")
            .settings
    }
}

impl Settings {
    /// The lock of each group of `mode`: every `--lock` for a mode that takes one, else none.
    pub fn locks_for(&self, mode: Mode) -> Vec<Option<Lock>> {
        if mode.takes_lock() {
            self.locks.iter().copied().map(Some).collect()
        } else {
            vec![None]
        }
    }

    /// Whether several lock kinds run (each a group of its own).
    pub fn sweeps_locks(&self) -> bool {
        self.locks.len() > 1 && self.modes.iter().any(|m| m.takes_lock())
    }

    /// Whether more than one combination of procs, iters and window runs.
    pub fn is_sweep(&self) -> bool {
        self.procs.len() > 1 || self.iters.len() > 1 || self.windows.len() > 1
    }

    /// Trace cells each worker's row needs: the largest --iters when tracing, else 0.
    pub fn trace_len(&self) -> u64 {
        if self.trace {
            self.iters.iter().copied().max().unwrap_or(0)
        } else {
            0
        }
    }

    /// The one combination of procs, iters and window, when nothing is swept.
    pub fn only_combination(&self) -> Option<Params> {
        match self.combinations()[..] {
            [params] => Some(params),
            _ => None,
        }
    }

    /// Every combination of procs, iters and window, in the order given.
    pub fn combinations(&self) -> Vec<Params> {
        let mut all = Vec::new();
        for &procs in &self.procs {
            for &iters in &self.iters {
                for &window in &self.windows {
                    all.push(Params {
                        procs,
                        iters,
                        window,
                    });
                }
            }
        }
        all
    }

    /// The largest procs of the sweep: how many worker slots the shared page needs.
    pub fn max_procs(&self) -> u32 {
        self.procs.iter().copied().max().unwrap_or(1)
    }

    /// How many trials the whole run makes: combinations × (modes and their locks) × trials.
    pub fn total_trials(&self) -> u64 {
        let kinds: usize = self.modes.iter().map(|&m| self.locks_for(m).len()).sum();
        let groups = (self.procs.len() * self.iters.len() * self.windows.len() * kinds) as u64;
        groups.saturating_mul(self.trials)
    }
}

/// `--schedule` with `--switch` folded in, and the windows to run: under a schedule the turns
/// decide the interleaving and no window is held; a window other than the default would be
/// silently ignored, so it is refused.
fn schedule_and_windows(
    schedule: Option<Strategy>,
    switch: Option<f64>,
    windows: Vec<Window>,
) -> Result<(Option<Strategy>, Vec<Window>), ConfigError> {
    let schedule = match (schedule, switch) {
        (Some(Strategy::Random { .. }), Some(switch)) => Some(Strategy::Random { switch }),
        (_, Some(_)) => {
            return Err(ConfigError("--switch goes with --schedule random".into()));
        }
        (schedule, None) => schedule,
    };
    match schedule {
        None => Ok((None, windows)),
        Some(_) if windows == [Window::Busy(DEFAULT_WINDOW_NS)] => {
            Ok((schedule, vec![Window::Busy(0)]))
        }
        Some(_) => Err(ConfigError(
            "--window has no effect under --schedule: the schedule decides when each worker \
             reads and writes; leave --window out"
                .into(),
        )),
    }
}

/// Refuses a run whose counter could overflow or whose workers the machine has no room for.
fn check_size(max_procs: u32, max_iters: u64, room: &Room) -> Result<(), ConfigError> {
    if u64::from(max_procs).checked_mul(max_iters).is_none() {
        return Err(ConfigError(format!(
            "--procs {max_procs} x --iters {max_iters} overflows the 64-bit counter; \
             lower one of them"
        )));
    }
    if let Some(limit) = room.limit
        && u64::from(max_procs) > limit
    {
        return Err(ConfigError(format!(
            "--procs {max_procs}: this machine has room for at most {limit} more processes \
             ({})",
            room.why
        )));
    }
    Ok(())
}

/// What else was asked for that a database store cannot serve.
#[derive(Clone, Copy)]
struct Asked {
    trace: bool,
    scheduled: bool,
    threads: bool,
}

/// `--store` and `--isolation` as a target, refused with the options it cannot serve.
fn store_target(
    url: &str,
    isolation: Option<crate::store::Isolation>,
    timeout: Option<Duration>,
    asked: Asked,
) -> Result<crate::store::Target, ConfigError> {
    let store = crate::store::Target::parse(url, isolation, timeout).map_err(ConfigError)?;
    store.refuse(asked.trace).map_err(ConfigError)?;
    if store.db().is_some() && asked.scheduled {
        return Err(ConfigError(
            "--schedule runs on the shared page only: a database's statements cannot be \
             handed turns one by one; leave --store out or --schedule out"
                .into(),
        ));
    }
    if store.db().is_some() && asked.threads {
        return Err(ConfigError(
            "--threads with --store: a database worker opens its own connection after \
             fork; leave --threads out"
                .into(),
        ));
    }
    Ok(store)
}

/// Refuses lock kinds a `--schedule` would misrepresent. The fenceless kinds lose updates
/// only through the CPU's store buffer, and every hand-over of the turn goes through futex
/// calls, full barriers, so under a schedule the reordering cannot happen. `private` protects
/// nothing, but the schedule gives a lock step to one worker at a time, which would make it
/// look exact.
fn check_scheduled_locks(
    locks: &[Lock],
    modes: &[Mode],
    scheduled: bool,
) -> Result<(), ConfigError> {
    if !scheduled || !modes.iter().any(|m| m.takes_lock()) {
        return Ok(());
    }
    match locks
        .iter()
        .find(|l| l.needs_reordering() || **l == Lock::Private)
    {
        Some(&lock) if lock.needs_reordering() => Err(ConfigError(format!(
            "--lock {lock} with --schedule: the schedule hands turns over through futex calls, \
             full barriers, so the reordering {lock} needs cannot happen"
        ))),
        Some(&lock) => Err(ConfigError(format!(
            "--lock {lock} with --schedule: the schedule gives the lock step to one worker at a \
             time, which would hide that {lock} protects nothing"
        ))),
        None => Ok(()),
    }
}

/// Refuses lock kinds that cannot run as asked: Peterson's algorithm at any procs but 2, and
/// fcntl record locks between threads (they belong to the process, so never exclude).
fn check_locks(
    locks: &[Lock],
    modes: &[Mode],
    procs: &[u32],
    threads: bool,
) -> Result<(), ConfigError> {
    if !modes.iter().any(|m| m.takes_lock()) {
        return Ok(());
    }
    for &lock in locks {
        if let Some(only) = lock.only_procs()
            && let Some(&p) = procs.iter().find(|&&p| p != only)
        {
            return Err(ConfigError(format!(
                "--lock {lock} works with exactly {only} procs (the algorithm is for two \
                 workers), not --procs {p}; use bakery for any number"
            )));
        }
        if lock == Lock::Flock && threads {
            return Err(ConfigError(
                "--lock flock with --threads: fcntl record locks belong to the process, so \
                 threads of one process never exclude each other"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// Refuses a trace whose rows (procs × iters cells) would pass [`TRACE_CAP_BYTES`].
fn check_trace_size(procs: u32, iters: u64) -> Result<(), ConfigError> {
    let bytes = trace_row_bytes(iters).and_then(|row| row.checked_mul(u64::from(procs)));
    if bytes.is_some_and(|b| b <= TRACE_CAP_BYTES) {
        return Ok(());
    }
    // Each row is rounded up to whole lines: round the budget per row down to them.
    let line = crate::race::page::LINE as u64;
    let fits =
        (TRACE_CAP_BYTES / u64::from(procs) / line * line) / crate::race::page::TRACE_CELL as u64;
    let needed = bytes.map_or("more than 16 EiB".to_string(), |b| {
        format!("{} MiB", b >> 20)
    });
    Err(ConfigError(format!(
        "--trace with --procs {procs} x --iters {iters} needs {needed} of shared memory, more \
         than the {} MiB cap; use fewer --iters (at most {fits} with --procs {procs})",
        TRACE_CAP_BYTES >> 20
    )))
}

fn dedup<T: PartialEq>(values: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn expand_modes(args: &[ModeArg]) -> Vec<Mode> {
    let mut modes = Vec::new();
    for arg in args {
        let add: &[Mode] = match arg {
            ModeArg::All => &Mode::ALL,
            ModeArg::Unlocked => &[Mode::Unlocked],
            ModeArg::PerAccess => &[Mode::PerAccess],
            ModeArg::Mutex => &[Mode::Mutex],
            ModeArg::Atomic => &[Mode::Atomic],
        };
        modes.extend_from_slice(add);
    }
    dedup(modes)
}

/// How many more processes this machine lets racecount start at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// None when it could not be read.
    pub limit: Option<u64>,
    /// The figures behind it, for the error message.
    pub why: String,
}

/// Reads the kernel's pid_max and threads-max, the tasks already running, and (for anyone
/// but root, whom the kernel exempts) RLIMIT_NPROC less this user's tasks.
pub(crate) fn process_room() -> Room {
    let read =
        |path: &str| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let pid_max = read("/proc/sys/kernel/pid_max");
    let threads_max = read("/proc/sys/kernel/threads-max");
    let running = std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| {
        let field = s.split_whitespace().nth(3)?;
        field.split('/').nth(1)?.parse::<u64>().ok()
    });
    let mut limit: Option<u64> = None;
    let mut why = Vec::new();
    if let (Some(cap), Some(running)) = (pid_max.into_iter().chain(threads_max).min(), running) {
        limit = Some(cap.saturating_sub(running));
        why.push(format!(
            "pid_max {}, threads-max {}, {running} tasks running",
            pid_max.map_or("?".into(), |v| v.to_string()),
            threads_max.map_or("?".into(), |v| v.to_string()),
        ));
    }
    if !nix::unistd::geteuid().is_root()
        && let Ok((soft, _)) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NPROC)
        && soft != libc::RLIM_INFINITY
    {
        let mine = tasks_of_user(nix::unistd::getuid().as_raw());
        let left = soft.saturating_sub(mine);
        limit = Some(limit.map_or(left, |l| l.min(left)));
        why.push(format!(
            "RLIMIT_NPROC {soft}, {mine} tasks of yours running"
        ));
    }
    // The parent holds one pidfd per worker: RLIMIT_NOFILE's hard limit bounds the workers too
    // (the soft limit is raised to it when needed, see fork::make_fd_room).
    if let Ok((_, hard)) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        && hard != libc::RLIM_INFINITY
    {
        let fds = hard.saturating_sub(crate::race::fork::FDS_BESIDES_WORKERS);
        limit = Some(limit.map_or(fds, |l| l.min(fds)));
        why.push(format!("RLIMIT_NOFILE {hard}: one pidfd per worker"));
    }
    Room {
        limit,
        why: why.join("; "),
    }
}

fn tasks_of_user(uid: u32) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| e.metadata().is_ok_and(|m| m.uid() == uid))
        .map(|e| std::fs::read_dir(e.path().join("task")).map_or(1, |tasks| tasks.count() as u64))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str], limit: Option<u64>) -> Result<Config, ConfigError> {
        let mut argv = vec!["racecount"];
        argv.extend_from_slice(args);
        let room = Room {
            limit,
            why: "test".into(),
        };
        Config::with_room(Options::try_parse_from(argv).unwrap(), room)
    }

    #[test]
    fn all_expands_to_every_mode_once() {
        let c = config(&["-m", "mutex,all,unlocked"], None).unwrap();
        assert_eq!(
            c.settings.modes,
            [Mode::Mutex, Mode::Unlocked, Mode::PerAccess, Mode::Atomic]
        );
    }

    #[test]
    fn overflowing_expected_total_is_refused() {
        let e = config(&["-p", "2", "-i", &u64::MAX.to_string()], None).unwrap_err();
        assert!(e.0.contains("overflows"), "{e}");
    }

    #[test]
    fn procs_beyond_the_room_is_refused() {
        let e = config(&["-p", "101"], Some(100)).unwrap_err();
        assert!(e.0.starts_with("--procs 101"), "{e}");
        assert!(config(&["-p", "100"], Some(100)).is_ok());
    }

    #[test]
    fn a_trace_over_the_cap_is_refused_naming_iters() {
        let e = config(&["--trace", "-p", "10", "-i", "1000000"], None).unwrap_err();
        assert!(
            e.0.starts_with("--trace with --procs 10 x --iters 1000000"),
            "{e}"
        );
        assert!(
            e.0.contains("fewer --iters (at most 671088 with --procs 10)"),
            "{e}"
        );
        // The suggested size is accepted.
        let c = config(&["--trace", "-p", "10", "-i", "671088"], None).unwrap();
        assert_eq!(c.settings.trace_len(), 671088);
        assert!(config(&["-p", "10", "-i", "1000000"], None).is_ok());
        // For every procs, the suggestion fits and one more does not.
        for procs in [1u32, 3, 7, 10, 13, 100, 1000] {
            let p = procs.to_string();
            let e = config(&["--trace", "-p", &p, "-i", "100000000"], None).unwrap_err();
            let fits: u64 =
                e.0.rsplit("at most ")
                    .next()
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
            assert!(config(&["--trace", "-p", &p, "-i", &fits.to_string()], None).is_ok());
            let over = (fits + 4).to_string();
            assert!(
                config(&["--trace", "-p", &p, "-i", &over], None).is_err(),
                "{procs}"
            );
        }
    }

    #[test]
    fn trace_svg_implies_trace() {
        let c = config(&["--trace-svg", "t.svg", "-i", "5,7"], None).unwrap();
        assert!(c.settings.trace);
        assert_eq!(c.settings.trace_len(), 7);
        assert_eq!(config(&[], None).unwrap().settings.trace_len(), 0);
    }

    #[test]
    fn sweep_runs_every_combination() {
        let c = config(&["-p", "1,2", "-i", "5,6,7"], None).unwrap();
        assert_eq!(c.settings.combinations().len(), 6);
    }

    #[test]
    fn an_empty_no_color_is_ignored() {
        assert!(!no_color(None));
        assert!(!no_color(Some("".into())));
        assert!(no_color(Some("1".into())));
    }

    #[test]
    fn peterson_is_refused_at_any_procs_but_2_before_anything_runs() {
        let e = config(&["-m", "mutex", "--lock", "peterson", "-p", "2,3"], None).unwrap_err();
        assert!(
            e.0.starts_with("--lock peterson works with exactly 2 procs"),
            "{e}"
        );
        assert!(
            config(
                &["-m", "mutex", "--lock", "peterson-nofence", "-p", "2"],
                None
            )
            .is_ok()
        );
        // Modes without a lock do not care.
        assert!(config(&["-m", "atomic", "--lock", "peterson", "-p", "3"], None).is_ok());
    }

    #[test]
    fn flock_and_pool_are_refused_with_threads() {
        let e = config(&["-m", "mutex", "--lock", "flock", "--threads"], None).unwrap_err();
        assert!(e.0.contains("belong to the process"), "{e}");
        assert!(config(&["--threads", "--pool"], None).is_err());
        assert!(config(&["--threads", "--lock", "sem,private"], None).is_ok());
    }

    #[test]
    fn locks_sweep_only_the_modes_that_take_one() {
        let c = config(&["-m", "unlocked,mutex", "--lock", "spin,sem,spin"], None).unwrap();
        assert_eq!(c.settings.locks, [Lock::Spin, Lock::Sem]);
        assert_eq!(c.settings.locks_for(Mode::Unlocked), [None]);
        assert_eq!(
            c.settings.locks_for(Mode::Mutex),
            [Some(Lock::Spin), Some(Lock::Sem)]
        );
        assert_eq!(c.settings.total_trials(), 30);
    }

    #[test]
    fn this_machine_has_some_room() {
        let room = process_room();
        assert!(room.limit.is_some_and(|l| l > 0), "{room:?}");
    }
}
