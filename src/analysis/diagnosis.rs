//! Why a racy mode lost little: a short note built only from what was measured (the CPUs
//! racecount could use, how busy the machine was, how much the workers overlapped). Pure.

use serde::Serialize;

use crate::analysis::overlap::Overlap;
use crate::results::Report;

/// What the measurements point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Reason {
    /// One CPU: the workers could only take turns.
    OneCpu,
    /// Other work competed for the CPUs.
    BusyMachine,
    /// Nothing in the way: the settings give the race little room.
    RareAtTheseSettings,
}

/// A racy group that lost updates in fewer than half of its trials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct QuietGroup {
    /// The group's label: mode, and the swept parameters when there are several.
    pub group: String,
    pub lossy: u64,
    pub trials: u64,
}

/// The note printed under the table, and carried by json.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Diagnosis {
    pub cause: Reason,
    pub groups: Vec<QuietGroup>,
    /// The overlap of the quiet groups' workers, all their trials together.
    pub peak: u32,
    pub overlap: f64,
    /// The note itself, one paragraph.
    pub text: String,
}

/// The diagnosis of a run, or `None` when every racy group lost updates in at least half of
/// its trials (or ran under `--schedule`, which does not depend on the machine).
pub(crate) fn diagnose(
    report: &Report,
    label: impl Fn(&crate::results::Group) -> String,
) -> Option<Diagnosis> {
    // Under a schedule the outcome does not depend on the machine; in a database the
    // workers' overlap is not measured and the database, not the CPUs, decides.
    if report.settings.schedule.is_some() || report.settings.store.is_db() {
        return None;
    }
    let quiet: Vec<_> = report
        .groups
        .iter()
        .filter(|g| g.mode.is_racy())
        .filter(|g| g.count > 0 && g.lossy.saturating_mul(2) < g.count)
        .collect();
    if quiet.is_empty() {
        return None;
    }
    let overlap = quiet
        .iter()
        .fold(Overlap::default(), |all, g| all.combine(g.overlap));
    let load = &report.settings.load;
    let cause = if load.cpus <= 1 {
        Reason::OneCpu
    } else if load.busy() {
        Reason::BusyMachine
    } else {
        Reason::RareAtTheseSettings
    };
    let groups: Vec<QuietGroup> = quiet
        .iter()
        .map(|g| QuietGroup {
            group: label(g),
            lossy: g.lossy,
            trials: g.count,
        })
        .collect();
    let which = groups
        .iter()
        .map(|q| format!("{} in {}/{} trials", q.group, q.lossy, q.trials))
        .collect::<Vec<_>>()
        .join(", ");
    let together = if overlap.busy_ns == 0 {
        "how much they ran at once was not measured".to_string()
    } else {
        format!(
            "at most {} in their increment loops at once, two or more {:.0}% of the time",
            overlap.peak,
            overlap.share() * 100.0
        )
    };
    let text = match cause {
        Reason::OneCpu => format!(
            "Few lost updates ({which}): racecount may use only 1 CPU here (taskset, cgroup or \
             the machine), so the workers took turns on it ({together}); an update is lost \
             only when one is preempted between its read and its write. To see the race: \
             --schedule random or --sleep 1ms."
        ),
        Reason::BusyMachine => format!(
            "Few lost updates ({which}): the machine was busy ({}, {} CPUs), so the workers \
             seldom ran together ({together}). Try a quieter machine, or --schedule random.",
            load.describe(),
            load.cpus
        ),
        Reason::RareAtTheseSettings => format!(
            "Few lost updates ({which}; {together}): the race has little room at these \
             settings. Raise --iters, --window or --trials, or use --schedule random."
        ),
    };
    Some(Diagnosis {
        cause,
        groups,
        peak: overlap.peak,
        overlap: overlap.share(),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::machine::Load;
    use crate::model::mode::Mode;
    use crate::output::fixture::{group, params, settings};
    use crate::results::Report;

    fn report(cpus: u32, pressure: f64, totals: &[u64]) -> Report {
        let mut settings = settings(&[Mode::Unlocked], &[2], totals.len() as u64);
        settings.load = Load {
            cpus,
            cpu_pressure_pct: Some(pressure),
            loadavg_1m: None,
        };
        Report {
            settings,
            groups: vec![group(Mode::Unlocked, params(2), totals)],
            stop: None,
            leftover: None,
        }
    }

    fn label(g: &crate::results::Group) -> String {
        g.mode.to_string()
    }

    #[test]
    fn silent_when_the_loss_shows_in_half_the_trials() {
        assert_eq!(diagnose(&report(1, 0.0, &[6, 5, 5, 6]), label), None);
    }

    #[test]
    fn one_cpu_is_named_first() {
        let d = diagnose(&report(1, 90.0, &[6, 6, 6, 5]), label).unwrap();
        assert_eq!(d.cause, Reason::OneCpu);
        assert!(d.text.contains("only 1 CPU"), "{}", d.text);
        assert!(d.text.contains("--schedule random"), "{}", d.text);
        assert!(d.text.contains("unlocked in 1/4 trials"), "{}", d.text);
    }

    #[test]
    fn a_busy_machine_is_named_with_its_pressure() {
        let d = diagnose(&report(2, 87.0, &[6, 6, 6, 6]), label).unwrap();
        assert_eq!(d.cause, Reason::BusyMachine);
        assert!(d.text.contains("CPU pressure 87%"), "{}", d.text);
    }

    #[test]
    fn otherwise_the_settings_leave_little_room() {
        let d = diagnose(&report(2, 1.0, &[6, 6, 6, 6]), label).unwrap();
        assert_eq!(d.cause, Reason::RareAtTheseSettings);
        assert!(d.text.contains("Raise --iters"), "{}", d.text);
    }

    #[test]
    fn exact_modes_are_never_diagnosed() {
        let mut r = report(1, 0.0, &[6, 6]);
        r.groups = vec![group(Mode::Mutex, params(2), &[6, 6])];
        assert_eq!(diagnose(&r, label), None);
    }
}
