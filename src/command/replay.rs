//! `--replay FILE[:TRIAL]`: the recorded traced trials of a json file (`--format json --trace`
//! or `--export-json`), read and checked before anything is forked, each with the script of
//! steps that runs its interleaving again.

use std::fmt;

use serde_json::Value;

use crate::analysis::replay::{NotReplayable, script};
use crate::model::lock::Lock;
use crate::model::mode::Mode;
use crate::model::schedule::Strategy;
use crate::model::settings::Params;
use crate::model::trace::{Replay, TraceEntry};
use crate::model::window::Window;
use crate::output::json::SCHEMA_VERSION;
use crate::race::child::schedule::{Plan, follows};

/// Why `--replay` refused its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayError {
    Unreadable {
        file: String,
        why: String,
    },
    NotATrace {
        file: String,
        why: String,
    },
    OtherVersion {
        file: String,
        version: String,
        schema: u64,
    },
    NoTrace {
        file: String,
    },
    NoSuchTrial {
        file: String,
        trial: u64,
        held: Vec<u64>,
    },
    Unplayable {
        file: String,
        trial: u64,
        mode: String,
        why: String,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Unreadable { file, why } => {
                write!(f, "--replay {file}: cannot read it: {why}")
            }
            ReplayError::NotATrace { file, why } => write!(
                f,
                "--replay {file}: not a racecount trace ({why}); give the json of a traced run \
                 (--format json --trace, or --export-json with --trace)"
            ),
            ReplayError::OtherVersion {
                file,
                version,
                schema,
            } => write!(
                f,
                "--replay {file}: a trace of racecount {version} (json schema {schema}); this \
                 racecount {} replays schema {SCHEMA_VERSION}, whose traces record each \
                 write's links",
                env!("CARGO_PKG_VERSION")
            ),
            ReplayError::NoTrace { file } => write!(
                f,
                "--replay {file}: no traced trial in it; record one with --trace"
            ),
            ReplayError::NoSuchTrial { file, trial, held } => {
                let held: Vec<String> = held.iter().map(u64::to_string).collect();
                write!(
                    f,
                    "--replay {file}:{trial}: no trial {trial} is kept in full in it (it holds \
                     trial {}); give one of those, or leave :TRIAL out",
                    held.join(", ")
                )
            }
            ReplayError::Unplayable {
                file,
                trial,
                mode,
                why,
            } => write!(
                f,
                "--replay {file}: {mode} trial {trial} cannot be replayed: {why}"
            ),
        }
    }
}

/// Splits `FILE[:TRIAL]`: a trailing `:N` of digits is the trial.
fn file_and_trial(arg: &str) -> (&str, Option<u64>) {
    match arg.rsplit_once(':') {
        Some((file, trial)) if !file.is_empty() && !trial.is_empty() => match trial.parse() {
            Ok(n) => (file, Some(n)),
            Err(_) => (arg, None),
        },
        _ => (arg, None),
    }
}

/// The trials `arg` names, read, checked and scripted.
pub(crate) fn replays(arg: &str) -> Result<Vec<Replay>, ReplayError> {
    let (file, trial) = file_and_trial(arg);
    let name = file.to_string();
    let text = std::fs::read_to_string(file).map_err(|e| ReplayError::Unreadable {
        file: name.clone(),
        why: e.to_string(),
    })?;
    let not = |why: &str| ReplayError::NotATrace {
        file: name.clone(),
        why: why.to_string(),
    };
    let doc: Value = serde_json::from_str(&text).map_err(|e| not(&format!("not json: {e}")))?;
    let version = doc["racecount_version"]
        .as_str()
        .ok_or_else(|| not("no racecount_version"))?;
    let schema = doc["schema_version"]
        .as_u64()
        .ok_or_else(|| not("no schema_version"))?;
    if schema != u64::from(SCHEMA_VERSION) {
        return Err(ReplayError::OtherVersion {
            file: name,
            version: version.to_string(),
            schema,
        });
    }
    let results = doc["results"].as_array().ok_or_else(|| not("no results"))?;
    let traced: Vec<&Value> = results.iter().filter(|r| !r["traced"].is_null()).collect();
    if traced.is_empty() {
        return Err(ReplayError::NoTrace { file: name });
    }
    let held: Vec<u64> = traced
        .iter()
        .filter_map(|r| r["traced"]["trial"].as_u64())
        .collect();
    let chosen: Vec<&Value> = traced
        .into_iter()
        .filter(|r| trial.is_none_or(|t| r["traced"]["trial"].as_u64() == Some(t)))
        .collect();
    if chosen.is_empty() {
        return Err(ReplayError::NoSuchTrial {
            file: name,
            trial: trial.unwrap_or(0),
            held,
        });
    }
    chosen.into_iter().map(|r| replay(&name, r)).collect()
}

/// One traced group of the file as a replay.
fn replay(file: &str, result: &Value) -> Result<Replay, ReplayError> {
    let not = |why: &str| ReplayError::NotATrace {
        file: file.to_string(),
        why: why.to_string(),
    };
    let mode = result["mode"]
        .as_str()
        .and_then(Mode::named)
        .ok_or_else(|| not("a result with no mode racecount knows"))?;
    let lock = match result["lock"].as_str() {
        None => None,
        Some(name) => Some(
            <Lock as clap::ValueEnum>::from_str(name, false)
                .map_err(|_| not(&format!("an unknown lock {name}")))?,
        ),
    };
    let number = |key: &str| {
        result[key]
            .as_u64()
            .ok_or_else(|| not(&format!("no {key}")))
    };
    let params = Params {
        procs: u32::try_from(number("procs")?).map_err(|_| not("procs too large"))?,
        iters: number("iters")?,
        window: Window::Busy(0),
    };
    let traced = &result["traced"];
    let trial = traced["trial"]
        .as_u64()
        .ok_or_else(|| not("a trace with no trial"))?;
    let total = traced["total"]
        .as_u64()
        .ok_or_else(|| not("a trace with no total"))?;
    let entries: Vec<TraceEntry> = serde_json::from_value(traced["entries"].clone())
        .map_err(|e| not(&format!("its entries do not read: {e}")))?;
    let unplayable = |why: String| ReplayError::Unplayable {
        file: file.to_string(),
        trial,
        mode: mode.name().to_string(),
        why,
    };
    if entries.len() as u64 != params.expected() {
        return Err(unplayable(format!(
            "{} entries for {} x {} increments",
            entries.len(),
            params.procs,
            params.iters
        )));
    }
    if let Some(lock) = lock.filter(|l| l.needs_reordering() || *l == Lock::Private) {
        return Err(unplayable(format!(
            "--lock {lock} lets two workers in at once, which a replay (one step at a time) \
             cannot do"
        )));
    }
    let steps = script(&entries, mode).map_err(|e: NotReplayable| unplayable(e.to_string()))?;
    let plan = Plan {
        strategy: Strategy::Replay,
        mode,
        iters: params.iters,
    };
    if !follows(&plan, params.procs, &steps) {
        return Err(unplayable(
            "its steps do not fit one at a time (a lock held by two workers)".into(),
        ));
    }
    Ok(Replay {
        file: file.to_string(),
        trial,
        mode,
        lock,
        params,
        total,
        entries,
        script: steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_number_is_the_trial() {
        assert_eq!(file_and_trial("t.json:3"), ("t.json", Some(3)));
        assert_eq!(file_and_trial("t.json"), ("t.json", None));
        assert_eq!(file_and_trial("c:/x.json"), ("c:/x.json", None));
        assert_eq!(file_and_trial(":3"), (":3", None));
    }
}
