//! The validated configuration: options are checked here, once, before anything is forked,
//! against each other and against what [`Probe`] read off the machine.

use std::time::Duration;

use super::checks::{
    Asked, check_locks, check_scheduled_locks, check_size, check_trace_size, check_writable,
    schedule_and_windows, store_target,
};
use super::cli::{ColorArg, ModeChoice, Options};
use super::error::ConfigError;
use super::lease::{self, join, lease, split_locks};
use super::replay::replays;
use crate::model::lease::{Join, Lease};
use crate::model::mode::Mode;
use crate::model::schedule::Strategy;
use crate::model::settings::{DEFAULT_LOCK, Settings, Workers};
use crate::model::window::Window;
use crate::output::export::{Export, ExportKind};
use crate::output::format::Format;
use crate::probe::Probe;
use crate::results::Keep;
use crate::store::Target;

/// Everything a run needs, validated: what the trials are, and how to run and show them.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) settings: Settings,
    pub(crate) format: Format,
    pub(crate) check: bool,
    /// Longest a trial may take, from gate release.
    pub(crate) timeout: Option<Duration>,
    pub(crate) color: bool,
    /// Show a progress bar on stderr for long runs (stderr is a terminal, no --quiet).
    pub(crate) progress: bool,
    /// Extra files to write after the run (`--trace-svg`, `--export-*`).
    pub(crate) exports: Vec<Export>,
    /// Where the counter lives (`--store`, `--isolation`), with its connection details.
    pub(crate) store: Target,
    /// Options given that this run cannot use, each said on stderr before it starts.
    pub(crate) warnings: Vec<String>,
    /// `--clean`: remove what dead runs left in the store, and run nothing.
    pub(crate) clean: bool,
}

impl Config {
    /// Validates parsed options against each other and against the machine as `probe` found
    /// it.
    pub fn new(options: Options, probe: &Probe) -> Result<Config, ConfigError> {
        let exports = exports(&options)?;
        let warnings = unused_options(&options, &exports);
        let procs = dedup(options.procs);
        let iters = dedup(options.iters);
        let windows = dedup(options.window);
        let modes = expand_modes(&options.mode);
        // clap gives at least one value of each.
        let max_procs = procs.iter().copied().max().unwrap_or(1);
        let max_iters = iters.iter().copied().max().unwrap_or(1);
        check_size(max_procs, max_iters, &probe.room)?;
        let trace = options.trace || options.trace_svg.is_some();
        if trace {
            check_trace_size(max_procs, max_iters)?;
        }
        let workers = workers_of(options.threads);
        let (page_locks, leases) = split_locks(options.lock.clone());
        let lock_given = page_locks.is_some();
        let locks = dedup(page_locks.unwrap_or_else(|| vec![DEFAULT_LOCK]));
        check_locks(&locks, &modes, &procs, workers)?;
        if workers == Workers::Threads && options.pool {
            return Err(ConfigError::ThreadsWithPool);
        }
        let pin_cpus = options.pin.cpus(&probe.cpus).map_err(ConfigError::Pin)?;
        let (schedule, windows) = schedule_and_windows(options.schedule, options.switch, windows)?;
        let timeout = options.timeout.map(Duration::from_nanos);
        let asked = Asked {
            trace,
            scheduled: options.schedule.is_some(),
            threads: options.threads,
            lock: lock_given,
            clean: options.clean,
        };
        let mut store = store_target(&options.store, options.isolation, timeout, asked)?;
        let asked = (options.stall, options.fencing, &modes[..]);
        let joining = (options.join.clone(), options.hosts, options.pool);
        let (lease, join) = leased_and_joined(&mut store, (&leases, lock_given), asked, joining)?;
        let procs = every_host(procs, join.as_ref(), max_iters)?;
        let mut warnings = warnings;
        warnings.extend(store.db().iter().flat_map(|db| db.notes.iter().cloned()));
        let locks = page_only(locks, &store);
        check_scheduled_locks(&locks, &modes, schedule.is_some())?;
        let color = color_of(options.color, probe);
        Config {
            warnings,
            settings: Settings {
                procs,
                iters,
                windows,
                trials: options.trials,
                modes,
                sleep_ns: options.sleep,
                jitter_ns: options.jitter,
                seed: options.seed.unwrap_or(probe.fresh_seed),
                pool: options.pool,
                trace,
                schedule,
                store: store.label(),
                load: probe.load,
                locks,
                workers,
                pin: options.pin,
                pin_cpus,
                replays: Vec::new(),
                lease,
                stall: options.stall,
                fencing: options.fencing,
                join,
            },
            format: options.format,
            check: options.check,
            timeout,
            color,
            progress: !options.quiet && probe.stderr_terminal,
            exports,
            store,
            clean: options.clean,
        }
        .replaying(options.replay.as_deref())
    }

    /// With `--replay`: the file's trials, each a group of one trial of its own mode, procs,
    /// iters and lock, run under the replay's schedule and traced.
    fn replaying(mut self, replay: Option<&str>) -> Result<Config, ConfigError> {
        let Some(arg) = replay else {
            return Ok(self);
        };
        let replays = replays(arg).map_err(ConfigError::Replay)?;
        let s = &mut self.settings;
        s.procs = dedup(replays.iter().map(|r| r.params.procs).collect());
        s.iters = dedup(replays.iter().map(|r| r.params.iters).collect());
        s.modes = dedup(replays.iter().map(|r| r.mode).collect());
        let locks = dedup(replays.iter().filter_map(|r| r.lock).collect());
        if !locks.is_empty() {
            s.locks = locks;
        }
        s.windows = vec![Window::Busy(0)];
        s.trials = 1;
        s.trace = true;
        s.schedule = Some(Strategy::Replay);
        s.replays = replays;
        Ok(self)
    }

    /// What the format and every extra file need kept of each trial.
    pub(crate) fn keep(&self) -> Keep {
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
        && !format.shows_trace()
        && !shown(ExportKind::Json)
        && !shown(ExportKind::TraceSvg)
        && !shown(ExportKind::Html)
    {
        unused.push(format!(
            "--format {} does not show what --trace finds (human and json do, and \
             --export-json, --trace-svg, --export-html); the trials are still traced and checked",
            format.name()
        ));
    }
    let seed_used = options.jitter > 0 || options.schedule.is_some_and(|s| s.is_random());
    if options.seed.is_some() && !seed_used {
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

/// The extra files asked for, each checked to be writable before anything is forked.
fn exports(options: &Options) -> Result<Vec<Export>, ConfigError> {
    let asked = [
        (ExportKind::TraceSvg, &options.trace_svg),
        (ExportKind::Json, &options.export_json),
        (ExportKind::Csv, &options.export_csv),
        (ExportKind::Markdown, &options.export_markdown),
        (ExportKind::Html, &options.export_html),
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

fn workers_of(threads: bool) -> Workers {
    if threads {
        Workers::Threads
    } else {
        Workers::Processes
    }
}

/// With a database the database does the locking: no lock of the page's runs or shows.
fn page_only(
    locks: Vec<crate::model::lock::Lock>,
    store: &Target,
) -> Vec<crate::model::lock::Lock> {
    if store.db().is_some() {
        Vec::new()
    } else {
        locks
    }
}

fn color_of(color: ColorArg, probe: &Probe) -> bool {
    match color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => probe.stdout_terminal && !probe.no_color,
    }
}

/// The lease, and the joined run (its counter named in `store`), checked.
fn leased_and_joined(
    store: &mut Target,
    (leases, page_locks): (&[Lease], bool),
    (stall, fencing, modes): (Option<crate::model::lease::Stall>, bool, &[Mode]),
    (name, hosts, pool): (Option<String>, Option<u32>, bool),
) -> Result<(Option<Lease>, Option<Join>), ConfigError> {
    let asked = lease::Asked {
        leases,
        page_locks,
        stall,
        fencing,
        modes,
    };
    let lease = lease(store, &asked)?;
    let join = join(name, hosts, store, pool)?;
    if let Some(join) = &join {
        store.join(&join.name);
    }
    Ok((lease, join))
}

/// `--procs` of each host, as the procs of the trial: every host's workers together.
fn every_host(
    procs: Vec<u32>,
    join: Option<&Join>,
    max_iters: u64,
) -> Result<Vec<u32>, ConfigError> {
    let Some(join) = join else {
        return Ok(procs);
    };
    procs
        .into_iter()
        .map(|p| {
            let all = p.checked_mul(join.hosts);
            match all {
                Some(all) if u64::from(all).checked_mul(max_iters).is_some() => Ok(all),
                _ => Err(ConfigError::Overflow {
                    procs: all.unwrap_or(u32::MAX),
                    iters: max_iters,
                }),
            }
        })
        .collect()
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

fn expand_modes(choices: &[ModeChoice]) -> Vec<Mode> {
    let mut modes = Vec::new();
    for choice in choices {
        match *choice {
            ModeChoice::All => modes.extend_from_slice(&Mode::ALL),
            ModeChoice::One(mode) => modes.push(mode),
        }
    }
    dedup(modes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lock::Lock;
    use crate::probe::ProcessRoom;
    use clap::Parser;

    fn config(args: &[&str], limit: Option<u64>) -> Result<Config, ConfigError> {
        let mut argv = vec!["racecount"];
        argv.extend_from_slice(args);
        let mut probe = Probe::fixed();
        probe.room = ProcessRoom {
            limit,
            why: "test".into(),
        };
        Config::new(Options::try_parse_from(argv).unwrap(), &probe)
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
        assert_eq!(
            e,
            ConfigError::Overflow {
                procs: 2,
                iters: u64::MAX
            }
        );
    }

    #[test]
    fn procs_beyond_the_room_is_refused() {
        let e = config(&["-p", "101"], Some(100)).unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::NoRoom {
                    procs: 101,
                    limit: 100,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with("--procs 101"), "{e}");
        assert!(config(&["-p", "100"], Some(100)).is_ok());
    }

    #[test]
    fn a_trace_over_the_cap_is_refused_naming_iters() {
        let e = config(&["--trace", "-p", "10", "-i", "1000000"], None).unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::TraceTooBig {
                    procs: 10,
                    iters: 1000000,
                    fits: 671088,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("fewer --iters (at most 671088 with --procs 10)"),
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
            let ConfigError::TraceTooBig { fits, .. } = e else {
                panic!("{e}")
            };
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
    fn peterson_is_refused_at_any_procs_but_2_before_anything_runs() {
        let e = config(&["-m", "mutex", "--lock", "peterson", "-p", "2,3"], None).unwrap_err();
        assert_eq!(
            e,
            ConfigError::LockProcs {
                lock: Lock::Peterson,
                only: 2,
                procs: 3
            }
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
        assert_eq!(e, ConfigError::FlockWithThreads);
        assert_eq!(
            config(&["--threads", "--pool"], None).unwrap_err(),
            ConfigError::ThreadsWithPool
        );
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
    fn the_defaults_are_what_settings_default_says() {
        let mut c = config(&[], None).unwrap().settings;
        c.seed = 0;
        c.load = Settings::default().load;
        assert_eq!(c, Settings::default());
    }
}
