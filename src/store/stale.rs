//! The names of runs' counters, and what a cleaning of the counters that dead runs left did.
//!
//! A run's table or key is `racecount_<pid>_<8 hex digits>`, and while the run lives it holds a
//! lock named after it (each store's module says which); a counter of that name whose lock
//! nobody holds belongs to a run that died (SIGKILL, a power cut) or to an older racecount that
//! held no lock. Only names of exactly that shape are ever touched.

/// This run's table or key: `racecount_<pid>_<8 hex digits>`, so that two runs, even on one
/// database, never share a counter.
pub(super) fn run_name() -> String {
    format!(
        "racecount_{}_{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Whether `name` is one racecount makes: `racecount_`, digits, `_`, 8 lowercase hex digits.
pub(super) fn is_run_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("racecount_") else {
        return false;
    };
    let Some((pid, tag)) = rest.split_once('_') else {
        return false;
    };
    !pid.is_empty()
        && pid.len() <= 10
        && pid.bytes().all(|b| b.is_ascii_digit())
        && tag.len() == 8
        && tag
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The name of the run that `name` belongs to: itself for a run's counter, the counter's for
/// its lease's and fence's keys (`<counter>_lease`, `<counter>_fence`); `None` for a name no
/// run makes.
pub(super) fn run_of(name: &str) -> Option<String> {
    if is_run_name(name) || is_joined(name) {
        return Some(name.to_string());
    }
    if let Some(run) = name
        .strip_prefix(BOARD_PREFIX)
        .map(|n| format!("{JOINED_PREFIX}{n}"))
        .filter(|run| is_joined(run))
    {
        return Some(run);
    }
    ["_lease", "_fence"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .filter(|run| is_run_name(run) || is_joined(run))
        .map(str::to_string)
}

/// The counter of a joined run (`--join NAME`) is `racecount_join_NAME`; its board, where the
/// hosts meet, `racecount_hosts_NAME`.
pub(super) const JOINED_PREFIX: &str = "racecount_join_";
pub(super) const BOARD_PREFIX: &str = "racecount_hosts_";

/// The counter of the joined run `name`.
pub(super) fn joined_name(name: &str) -> String {
    format!("{JOINED_PREFIX}{name}")
}

/// The board of the joined run whose counter is `counter`.
pub(super) fn board_of(counter: &str) -> String {
    let name = counter.strip_prefix(JOINED_PREFIX).unwrap_or(counter);
    format!("{BOARD_PREFIX}{name}")
}

/// Whether `name` is a joined run's counter: the prefix and a name `--join` accepts.
pub(super) fn is_joined(name: &str) -> bool {
    name.strip_prefix(JOINED_PREFIX)
        .is_some_and(|n| crate::model::lease::Join::check_name(n).is_ok())
}

/// What a cleaning did: the counters of dead runs it removed, those of live runs it left, and
/// those it could not remove (with why).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cleaned {
    pub(crate) removed: Vec<String>,
    pub(crate) live: usize,
    pub(crate) failed: Vec<String>,
}

impl Cleaned {
    /// `--clean`'s result: an error naming `place` when nothing was removed or found alive
    /// and something failed (the whole clean failed), else what was done.
    pub(crate) fn or_failed(self, place: &str) -> Result<Cleaned, String> {
        if self.removed.is_empty() && self.live == 0 && !self.failed.is_empty() {
            return Err(format!("{place}: {}", self.failed.join("; ")));
        }
        Ok(self)
    }

    /// One line for stderr when a run removed something at its start (or could not), else
    /// `None`: "removed 2 tables of dead runs from URL: racecount_1_…, racecount_2_…".
    pub(crate) fn at_start(&self, thing: &str, shown: &str) -> Option<String> {
        if self.removed.is_empty() && self.failed.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        if !self.removed.is_empty() {
            parts.push(format!(
                "removed {} of dead runs from {shown}: {}",
                count(self.removed.len(), thing),
                self.removed.join(", ")
            ));
        }
        if !self.failed.is_empty() {
            parts.push(format!(
                "could not remove {}: {}",
                count(self.failed.len(), thing),
                self.failed.join("; ")
            ));
        }
        Some(parts.join("; "))
    }
}

/// "1 table", "2 tables".
pub(crate) fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_of_runs_are_names_of_runs() {
        assert!(is_run_name(&run_name()));
        assert!(is_run_name("racecount_1_0123abcd"));
        for other in [
            "racecount_stock",
            "racecount_1_0123ABCD",
            "racecount_1_0123abc",
            "racecount__0123abcd",
            "racecount_1_0123abcd_w1",
            "racecount_1_0123abcd.lock",
            "Racecount_1_0123abcd",
        ] {
            assert!(!is_run_name(other), "{other}");
        }
    }

    #[test]
    fn a_lease_and_a_fence_belong_to_their_counter() {
        let of = |name: &str| run_of(name);
        let run = Some("racecount_1_0123abcd".to_string());
        assert_eq!(of("racecount_1_0123abcd"), run);
        assert_eq!(of("racecount_1_0123abcd_lease"), run);
        assert_eq!(of("racecount_1_0123abcd_fence"), run);
        let joined = Some("racecount_join_lesson1".to_string());
        assert_eq!(of("racecount_join_lesson1"), joined);
        assert_eq!(of("racecount_hosts_lesson1"), joined);
        assert_eq!(of("racecount_join_lesson1_fence"), joined);
        assert_eq!(of("racecount_join_Lesson1"), None);
        assert_eq!(run_of("racecount_1_0123abcd_w1"), None);
        assert_eq!(run_of("racecount_stock_lease"), None);
    }

    #[test]
    fn a_cleaning_that_removed_nothing_says_nothing() {
        assert_eq!(Cleaned::default().at_start("table", "x"), None);
        let cleaned = Cleaned {
            removed: vec!["racecount_1_0123abcd".into()],
            live: 2,
            failed: Vec::new(),
        };
        assert_eq!(
            cleaned.at_start("table", "sqlite:/tmp/l.db").unwrap(),
            "removed 1 table of dead runs from sqlite:/tmp/l.db: racecount_1_0123abcd"
        );
    }
}
