//! One trial as a flat record: the fields of `csv`, `tsv` and `jsonl`, kept in one list
//! ([`FIELDS`]) so that the three never disagree. Every parameter of the run is a field, so a
//! row says on its own what was run.
//!
//! The order is a promise to scripts that count columns (`cut -f 9`, `awk -F, '{print $9}'`):
//! fields are only ever added at the end of the list, never inserted or reordered.

use crate::model::settings::Settings;
use crate::model::settings::{Parameter, Value as ParamValue};
use crate::results::{Group, Overlap, Seen, Trial};

/// One finished trial with everything that describes it.
pub(crate) struct Record<'a> {
    pub settings: &'a Settings,
    pub group: &'a Group,
    /// 1-based, as the human output numbers trials.
    pub trial: u64,
    pub total: u64,
    pub elapsed_ns: u64,
    pub wall_ns: u64,
    pub retries: u64,
    pub overlap: Overlap,
}

/// A field's value: numbers stay numbers in jsonl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Number(u64),
    Text(String),
    Flag(bool),
    /// A share from 0 to 1, three decimals in csv and tsv.
    Share(u64, u64),
    /// Nothing: an empty cell in csv and tsv, null in jsonl.
    Null,
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Number(n) => write!(f, "{n}"),
            Value::Text(text) => f.write_str(text),
            Value::Flag(b) => write!(f, "{b}"),
            Value::Share(part, whole) => write!(f, "{:.3}", share(*part, *whole)),
            Value::Null => Ok(()),
        }
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Number(n) => serializer.serialize_u64(*n),
            Value::Text(text) => serializer.serialize_str(text),
            Value::Flag(b) => serializer.serialize_bool(*b),
            Value::Share(part, whole) => serializer.serialize_f64(share(*part, *whole)),
            Value::Null => serializer.serialize_none(),
        }
    }
}

/// A named field and how to read it from a record.
pub(crate) type Field = (&'static str, fn(&Record) -> Value);

/// Every field, in order. Append new ones at the end (see the module's comment).
pub(crate) const FIELDS: &[Field] = &[
    ("mode", |r| Value::Text(r.group.mode.name().into())),
    ("procs", |r| Value::Number(r.group.params.procs.into())),
    ("iters", |r| Value::Number(r.group.params.iters)),
    // The busy-wait's length; 0 for `yield`, which has no fixed length (see `window`).
    ("window_ns", |r| {
        Value::Number(r.group.params.window.nanos().unwrap_or(0))
    }),
    ("sleep_ns", |r| Value::Number(r.settings.sleep_ns)),
    ("jitter_ns", |r| Value::Number(r.settings.jitter_ns)),
    // Empty when nothing draws from the seed (no --jitter, no random schedule).
    ("seed", |r| {
        if r.settings.seed_used() {
            Value::Number(r.settings.seed)
        } else {
            Value::Null
        }
    }),
    ("trial", |r| Value::Number(r.trial)),
    ("total", |r| Value::Number(r.total)),
    ("expected", |r| Value::Number(r.group.expected())),
    ("lost", |r| {
        Value::Number(r.group.expected().saturating_sub(r.total))
    }),
    ("elapsed_ns", |r| Value::Number(r.elapsed_ns)),
    ("wall_ns", |r| Value::Number(r.wall_ns)),
    // As written on the command line: `0`, `1us`, `yield`.
    ("window", |r| Value::Text(r.group.params.window.to_string())),
    ("trials", |r| Value::Number(r.settings.trials)),
    ("pool", |r| Value::Flag(r.settings.pool)),
    ("trace", |r| Value::Flag(r.settings.trace)),
    // `random`, `pct:3`, ... or nothing without --schedule; --switch under `random`, else
    // nothing (an empty cell in csv and tsv, null in jsonl).
    ("schedule", |r| {
        r.settings
            .schedule
            .map_or(Value::Null, |s| Value::Text(s.name()))
    }),
    ("switch", |r| {
        r.settings
            .switch()
            .map_or(Value::Null, |s| Value::Text(s.to_string()))
    }),
    ("store", |r| Value::Text(r.settings.store.kind.into())),
    ("retries", |r| Value::Number(r.retries)),
    // The most workers inside their racing part at once, and the share of the racing time
    // with two or more.
    // Not measured with a database store: empty.
    ("peak", |r| {
        if r.settings.store.is_db() {
            Value::Null
        } else {
            Value::Number(r.overlap.peak.into())
        }
    }),
    ("overlap", |r| {
        if r.settings.store.is_db() {
            Value::Null
        } else {
            Value::Share(r.overlap.shared_ns, r.overlap.busy_ns)
        }
    }),
    // The lock of mutex and per-access (`pthread`, `spin`, ...), nothing for the other modes.
    ("lock", |r| {
        r.group
            .lock
            .map_or(Value::Null, |l| Value::Text(l.name().into()))
    }),
    ("workers", |r| Value::Text(r.settings.workers.name().into())),
    // `--pin` as given: none, spread, same or a CPU list (`0 2-3`: spaces, as no field
    // holds a comma).
    ("pin", |r| {
        Value::Text(r.settings.pin.to_string().replace(',', " "))
    }),
];

/// The parameters of `settings` that rows carry and [`FIELDS`] does not name: appended after
/// them, in their order, so a parameter added to the settings gets its column at the end.
fn more_parameters(settings: &Settings) -> impl Iterator<Item = Parameter> {
    settings
        .parameters()
        .into_iter()
        .filter(|p| p.in_records && FIELDS.iter().all(|(name, _)| *name != p.name))
}

/// The field names joined by `separator`: the header line of csv and tsv.
pub(crate) fn header(settings: &Settings, separator: &str) -> String {
    FIELDS
        .iter()
        .map(|(name, _)| *name)
        .chain(more_parameters(settings).map(|p| p.name))
        .collect::<Vec<_>>()
        .join(separator)
}

/// A parameter's value in a row: lists and fractions as text, no commas (csv has no quoting).
fn field_value(value: ParamValue) -> Value {
    let text = |t: String| Value::Text(t.replace(',', " "));
    match value {
        ParamValue::Number(n) => Value::Number(n),
        ParamValue::Flag(b) => Value::Flag(b),
        ParamValue::Fraction(f) => Value::Text(f.to_string()),
        ParamValue::Text(t) => text(t),
        ParamValue::Numbers(list) => text(
            list.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ParamValue::Texts(list) => text(list.join(" ")),
        ParamValue::Pairs(pairs) => text(
            pairs
                .iter()
                .map(|(name, value)| format!("{name}: {value}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ParamValue::Null => Value::Null,
    }
}

impl Record<'_> {
    /// Every field of the record with its value, in order.
    pub(crate) fn fields(&self) -> Vec<(&'static str, Value)> {
        FIELDS
            .iter()
            .map(|(name, value)| (*name, value(self)))
            .chain(more_parameters(self.settings).map(|p| (p.name, field_value(p.value))))
            .collect()
    }

    /// The record's values joined by `separator`. No value holds a comma, tab or quote.
    pub(crate) fn line(&self, separator: &str) -> String {
        self.fields()
            .into_iter()
            .map(|(_, value)| value.to_string())
            .collect::<Vec<_>>()
            .join(separator)
    }

    /// Every kept trial of `group`, as records.
    pub(crate) fn all<'a>(
        settings: &'a Settings,
        group: &'a Group,
    ) -> impl Iterator<Item = Record<'a>> {
        (0..group.totals.len()).map(move |i| Record {
            settings,
            group,
            trial: i as u64 + 1,
            total: group.totals[i],
            elapsed_ns: group.elapsed_ns[i],
            wall_ns: group.wall_ns[i],
            retries: group.retries.get(i).copied().unwrap_or(0),
            overlap: group.overlaps.get(i).copied().unwrap_or_default(),
        })
    }

    /// The trial that just finished as the last of `group`, for the streaming formats.
    pub(crate) fn of<'a>(
        settings: &'a Settings,
        group: &'a Group,
        trial: &Trial,
        seen: &Seen,
    ) -> Record<'a> {
        Record {
            settings,
            group,
            trial: group.count,
            total: trial.total,
            elapsed_ns: trial.elapsed_ns,
            wall_ns: trial.wall_ns,
            retries: trial.retries,
            overlap: seen.overlap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::window::Window;
    use crate::output::fixture::two_modes;

    fn report_settings() -> Settings {
        two_modes().settings
    }

    #[test]
    fn the_first_thirteen_fields_keep_their_places() {
        // Scripts that count columns rely on these: new fields go after them.
        assert_eq!(
            header(&report_settings(), ","),
            "mode,procs,iters,window_ns,sleep_ns,jitter_ns,seed,trial,total,expected,lost,\
             elapsed_ns,wall_ns,window,trials,pool,trace,schedule,switch,store,retries,peak,\
             overlap,lock,workers,pin,lease_ns,stall,fencing,hosts"
        );
    }

    #[test]
    fn a_yield_window_is_0_ns_and_named_in_window() {
        let mut report = two_modes();
        report.groups[0].params.window = Window::Yield;
        let record = Record::all(&report.settings, &report.groups[0])
            .next()
            .unwrap();
        let line = record.line(",");
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[3], "0");
        assert_eq!(fields[13], "yield");
    }
}
