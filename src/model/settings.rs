//! What the trials are: every setting that shapes what the workers do, kept once and borrowed
//! by the runners, the workers and the renderers (which show it). Plain data: making or
//! reading it probes nothing.

use super::lease::{Join, Lease, Stall};
use super::lock::Lock;
use super::machine::Load;
use super::mode::{InDatabase, Mode};
use super::pin::Pin;
use super::schedule::{DEFAULT_SWITCH, Strategy};
use super::store::StoreLabel;
use super::trace::Replay;
use super::units::format_exact;
use super::window::Window;

/// `--procs`' default: the lesson's ten processes.
pub const DEFAULT_PROCS: u32 = 10;
/// `--iters`' default: the lesson's twenty increments each.
pub const DEFAULT_ITERS: u64 = 20;
/// `--trials`' default.
pub const DEFAULT_TRIALS: u64 = 10;
/// `--window`'s default, 1us: about what CPython spends in `value += 1`.
pub const DEFAULT_WINDOW: Window = Window::Busy(1_000);
/// `--lock`'s default.
pub const DEFAULT_LOCK: Lock = Lock::Pthread;

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

/// What the workers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    /// Forked processes (the default).
    Processes = 0,
    /// Threads of racecount (`--threads`).
    Threads = 1,
}

impl Workers {
    /// `processes` or `threads`, as json and csv write it.
    pub fn name(self) -> &'static str {
        match self {
            Workers::Processes => "processes",
            Workers::Threads => "threads",
        }
    }
}

/// What the trials are: every setting that shapes what the workers do.
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
    pub store: StoreLabel,
    /// The CPUs racecount may use and how busy they were, read once before the run.
    pub load: Load,
    /// The locks `mutex` and `per-access` take (`--lock`), each a group of its own; none with
    /// a database store, where the database does the locking.
    pub locks: Vec<Lock>,
    /// Processes or threads (`--threads`).
    pub workers: Workers,
    /// `--pin` as given, for display.
    pub pin: Pin,
    /// The CPUs the workers go round robin over (worker i on `pin_cpus[i % len]`); empty when
    /// not pinned. Checked to be CPUs racecount may use.
    pub pin_cpus: Vec<usize>,
    /// `--replay`: the recorded trials to run again, each a group of one trial (the groups of
    /// the run are then these, not the combinations of the swept parameters).
    pub replays: Vec<Replay>,
    /// `--lock lease:TTL`: with a store, the lock of `mutex` and `per-access` is a lease in the
    /// store instead of the store's own locks.
    pub lease: Option<Lease>,
    /// `--stall DUR[@P]`: the lock holder's pause between read and write.
    pub stall: Option<Stall>,
    /// `--fencing`: every access under a lease carries its token, and the store refuses an
    /// older one.
    pub fencing: bool,
    /// `--join NAME --hosts N`: one run shared by several hosts; `procs` then counts every
    /// host's workers (N × `--procs`).
    pub join: Option<Join>,
}

impl Default for Settings {
    /// What a bare `racecount` runs, with seed 0 and no load figures (a run draws its seed
    /// and reads the load; these defaults probe nothing).
    fn default() -> Settings {
        Settings {
            procs: vec![DEFAULT_PROCS],
            iters: vec![DEFAULT_ITERS],
            windows: vec![DEFAULT_WINDOW],
            trials: DEFAULT_TRIALS,
            modes: Mode::ALL.to_vec(),
            sleep_ns: 0,
            jitter_ns: 0,
            seed: 0,
            pool: false,
            trace: false,
            schedule: None,
            store: StoreLabel::page(),
            load: Load::unknown(),
            locks: vec![DEFAULT_LOCK],
            workers: Workers::Processes,
            pin: Pin::None,
            pin_cpus: Vec::new(),
            replays: Vec::new(),
            lease: None,
            stall: None,
            fencing: false,
            join: None,
        }
    }
}

impl Settings {
    /// The lock of each group of `mode`: every `--lock` for a mode that takes one, else none.
    pub fn locks_for(&self, mode: Mode) -> Vec<Option<Lock>> {
        if mode.takes_lock() && !self.locks.is_empty() {
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

    /// Whether the workers are threads of racecount.
    pub fn threads(&self) -> bool {
        self.workers == Workers::Threads
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
        if !self.replays.is_empty() {
            return self.replays.len() as u64;
        }
        let kinds: usize = self.modes.iter().map(|&m| self.locks_for(m).len()).sum();
        let groups = (self.procs.len() * self.iters.len() * self.windows.len() * kinds) as u64;
        groups.saturating_mul(self.trials)
    }

    /// How many increments the whole run makes when every trial finishes: each group's
    /// procs × iters, times its trials.
    pub fn total_increments(&self) -> u64 {
        if !self.replays.is_empty() {
            return self
                .replays
                .iter()
                .map(|r| r.params.expected())
                .fold(0, u64::saturating_add);
        }
        let kinds: u64 = self
            .modes
            .iter()
            .map(|&m| self.locks_for(m).len() as u64)
            .sum();
        self.combinations()
            .iter()
            .map(|p| p.expected())
            .fold(0u64, u64::saturating_add)
            .saturating_mul(kinds)
            .saturating_mul(self.trials)
    }

    /// How many hosts run each trial together (1 without `--join`).
    pub fn hosts(&self) -> u32 {
        self.join.as_ref().map_or(1, |j| j.hosts)
    }

    /// How a database worker runs `mode`'s increment: under the lease, when there is one and
    /// the mode takes a lock; else as the mode says.
    pub fn in_database(&self, mode: Mode) -> InDatabase {
        match self.lease {
            Some(_) => mode.in_database_leased(self.fencing),
            None => mode.in_database(),
        }
    }

    /// Whether anything random is drawn from the seed: `--jitter`'s pauses or a random
    /// `--schedule`.
    pub fn seed_used(&self) -> bool {
        self.jitter_ns > 0 || self.schedule.is_some_and(|s| s.is_random())
    }
}

/// A parameter of the run as every output shows it: json's `parameters`, the columns of csv,
/// tsv and jsonl, the markdown heading's command line and the human header all read
/// [`Settings::parameters`], so a parameter added there reaches each of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Its name in json and, when [`in_records`](Self::in_records), its column in csv.
    pub name: &'static str,
    pub value: Value,
    /// The option that sets it, as typed (`--sleep 10ms`), when it is not at its default.
    pub option: Option<String>,
    /// Whether csv, tsv and jsonl carry it as a column of every row.
    pub in_records: bool,
}

/// A parameter's value: numbers stay numbers in json.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(u64),
    Fraction(f64),
    Text(String),
    Flag(bool),
    Numbers(Vec<u64>),
    Texts(Vec<String>),
    /// Names with a text each, in order (a json object).
    Pairs(Vec<(String, String)>),
    /// Not set (json null, an empty csv cell).
    Null,
}

impl Settings {
    /// The run's parameters that are not swept (procs, iters, windows and modes are each
    /// group's own), in the order json lists them. Add a parameter here, in `cli.rs` and in
    /// `config.rs`; every output then shows it.
    pub fn parameters(&self) -> Vec<Parameter> {
        let mut all = self.trial_parameters();
        all.extend(self.store_parameters());
        all.extend(self.worker_parameters());
        all.extend(self.lease_parameters());
        all
    }

    /// The lease, the stall, fencing and the hosts of a joined run.
    fn lease_parameters(&self) -> Vec<Parameter> {
        let join = self.join.as_ref();
        vec![
            param(
                "lease_ns",
                self.lease.map_or(Value::Null, |l| Value::Number(l.ttl_ns)),
                self.lease.map(|l| format!("--lock {l}")),
            ),
            param(
                "stall",
                self.stall
                    .map_or(Value::Null, |s| Value::Text(s.to_string())),
                self.stall.map(|s| format!("--stall {s}")),
            ),
            param(
                "fencing",
                Value::Flag(self.fencing),
                given(!self.fencing, "--fencing".into()),
            ),
            param(
                "hosts",
                Value::Number(self.hosts().into()),
                join.map(|j| format!("--hosts {}", j.hosts)),
            ),
            unrecorded(
                "join",
                join.map_or(Value::Null, |j| text(&j.name)),
                join.map(|j| format!("--join {}", j.name)),
            ),
            unrecorded(
                "roster",
                Value::Texts(join.map_or(Vec::new(), |j| j.roster.clone())),
                None,
            ),
        ]
    }

    /// What each trial does: trials, pauses, seed, pool, trace, schedule.
    fn trial_parameters(&self) -> Vec<Parameter> {
        vec![
            param("trials", Value::Number(self.trials), {
                given(self.trials == DEFAULT_TRIALS, format!("-t {}", self.trials))
            }),
            param("sleep_ns", Value::Number(self.sleep_ns), {
                given(
                    self.sleep_ns == 0,
                    format!("--sleep {}", format_exact(self.sleep_ns)),
                )
            }),
            param("jitter_ns", Value::Number(self.jitter_ns), {
                let option = format!("--jitter {}", format_exact(self.jitter_ns));
                given(self.jitter_ns == 0, option)
            }),
            // Drawn at random when not given, and shown as an option only when it drives
            // something.
            // null when nothing draws from it: a number then would say nothing.
            param(
                "seed",
                if self.seed_used() {
                    Value::Number(self.seed)
                } else {
                    Value::Null
                },
                given(!self.seed_used(), format!("--seed {}", self.seed)),
            ),
            param(
                "pool",
                Value::Flag(self.pool),
                given(!self.pool, "--pool".into()),
            ),
            param(
                "trace",
                Value::Flag(self.trace),
                given(!self.trace, "--trace".into()),
            ),
            param(
                "schedule",
                self.schedule.map_or(Value::Null, |s| Value::Text(s.name())),
                self.schedule.map(|s| format!("--schedule {}", s.name())),
            ),
            param(
                "switch",
                self.switch().map_or(Value::Null, Value::Fraction),
                {
                    self.switch()
                        .filter(|&s| s != DEFAULT_SWITCH)
                        .map(|s| format!("--switch {s}"))
                },
            ),
        ]
    }

    /// Where the counter lives.
    fn store_parameters(&self) -> Vec<Parameter> {
        let store = &self.store;
        let mut all = vec![
            param("store", text(store.kind), None),
            unrecorded("store_url", text(&store.url), {
                given(!store.is_db(), format!("--store {}", store.url))
            }),
        ];
        if let Some(counter) = &store.counter {
            all.push(unrecorded("counter", text(counter), None));
        }
        all.push(unrecorded(
            "isolation",
            store.isolation.map_or(Value::Null, |i| text(i.name())),
            store.isolation.map(|i| format!("--isolation {i}")),
        ));
        if !store.is_db() {
            return all;
        }
        let fact = |f: &Option<String>| f.as_deref().map_or(Value::Null, text);
        all.push(unrecorded(
            "isolation_level",
            fact(&store.facts.isolation),
            None,
        ));
        all.push(unrecorded(
            "journal_mode",
            fact(&store.facts.journal_mode),
            None,
        ));
        all.push(unrecorded(
            "statements",
            Value::Pairs(self.statements()),
            None,
        ));
        all
    }

    /// What a database worker runs in each mode of the run, by mode name (none on the page).
    pub fn statements(&self) -> Vec<(String, String)> {
        self.modes
            .iter()
            .filter_map(|m| {
                let text = self.store.statements_for(self.in_database(*m))?;
                Some((m.name().to_string(), text.to_string()))
            })
            .collect()
    }

    /// The locks, and where the workers run.
    fn worker_parameters(&self) -> Vec<Parameter> {
        let locks: Vec<String> = self.locks.iter().map(|l| l.name().to_string()).collect();
        let cpus = self.pin_cpus.iter().map(|&c| c as u64).collect();
        vec![
            unrecorded("locks", Value::Texts(locks.clone()), {
                given(
                    self.locks == [DEFAULT_LOCK] || self.locks.is_empty(),
                    format!("--lock {}", locks.join(",")),
                )
            }),
            param("workers", text(self.workers.name()), {
                given(self.workers == Workers::Processes, "--threads".into())
            }),
            param("pin", text(&self.pin.to_string()), {
                given(self.pin == Pin::None, format!("--pin {}", self.pin))
            }),
            unrecorded("pin_cpus", Value::Numbers(cpus), None),
        ]
    }

    /// `--switch` under `--schedule random`, else `None`.
    pub fn switch(&self) -> Option<f64> {
        self.schedule.and_then(|s| s.switch())
    }
}

/// A parameter every row of csv, tsv and jsonl carries.
fn param(name: &'static str, value: Value, option: Option<String>) -> Parameter {
    Parameter {
        name,
        value,
        option,
        in_records: true,
    }
}

/// A parameter json carries and the rows do not (lists, and what the store says once).
fn unrecorded(name: &'static str, value: Value, option: Option<String>) -> Parameter {
    Parameter {
        in_records: false,
        ..param(name, value, option)
    }
}

/// `option` when the parameter is not at its default.
fn given(at_default: bool, option: String) -> Option<String> {
    (!at_default).then_some(option)
}

fn text(t: &str) -> Value {
    Value::Text(t.to_string())
}
