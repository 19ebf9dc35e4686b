//! `--format markdown`: the summary table as a Markdown table, for course notes and READMEs.
//! It always carries the parameter columns, and a heading with the command line that ran it
//! (every option not at its default), so a pasted table says what was run.

use std::io::{self, Write};

use super::Render;
use super::human::{number, percent};
use crate::analysis::stats::summarize;
use crate::model::settings::Settings;
use crate::model::units::format_exact;
use crate::results::Report;

/// Markdown output.
pub(crate) struct Markdown;

impl Render for Markdown {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let mut command = vec!["racecount".to_string()];
        command.extend(non_default_options(&report.settings));
        writeln!(out, "#### `{}`\n", command.join(" "))?;
        // With a database: which one, and the refusals retried in the group's trials.
        let db = report.settings.store.is_db();
        writeln!(
            out,
            "| mode | procs | iters | window | trials | min | median | max | lost updates \
             | mean lost | ns/incr | trials/s |{}",
            if db { " store | retries |" } else { "" }
        )?;
        writeln!(
            out,
            "|:--|--:|--:|--:|--:|--:|--:|--:|:--|--:|--:|--:|{}",
            if db { ":--|--:|" } else { "" }
        )?;
        for g in &report.groups {
            let Some(s) = summarize(g) else { continue };
            write!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                g.name(&report.settings),
                g.params.procs,
                g.params.iters,
                g.params.window,
                s.count,
                s.min,
                number(s.median),
                s.max,
                s.verdict(),
                percent(s.mean_lost_pct),
                number(s.ns_per_increment_mean),
                number(s.trials_per_sec),
            )?;
            if db {
                write!(
                    out,
                    " {} | {} |",
                    report.settings.store.kind, g.retries_total
                )?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

/// The options that set `settings` apart from a bare `racecount`, as they would be typed:
/// the swept ones, then every parameter of [`Settings::parameters`] not at its default; under
/// `--replay`, that option alone (it sets all the others).
pub(crate) fn non_default_options(settings: &Settings) -> Vec<String> {
    if let Some(first) = settings.replays.first() {
        return vec![match settings.replays.len() {
            1 => format!("--replay {}:{}", first.file, first.trial),
            _ => format!("--replay {}", first.file),
        }];
    }
    let defaults = Settings::default();
    let list = |values: Vec<String>| values.join(",");
    let mut options = Vec::new();
    let mut add = |differs: bool, option: &str, value: String| {
        if differs {
            options.push(format!("{option} {value}"));
        }
    };
    let s = settings;
    let modes = s.modes.iter().map(|m| m.name().to_string()).collect();
    add(s.modes != defaults.modes, "-m", list(modes));
    let procs = s.procs.iter().map(u32::to_string).collect();
    add(s.procs != defaults.procs, "-p", list(procs));
    let iters = s.iters.iter().map(u64::to_string).collect();
    add(s.iters != defaults.iters, "-i", list(iters));
    let windows = s.windows.iter().map(|w| match w.nanos() {
        Some(ns) => format_exact(ns),
        None => w.to_string(),
    });
    // Under a schedule no window is held (and --window is refused with --schedule).
    add(
        s.windows != defaults.windows && s.schedule.is_none(),
        "-w",
        list(windows.collect()),
    );
    options.extend(s.parameters().into_iter().filter_map(|p| p.option));
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::two_modes;

    #[test]
    fn the_summary_as_a_markdown_table() {
        let mut out = Vec::new();
        Markdown.render(&two_modes(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "#### `racecount -m unlocked,atomic -p 2 -i 3 -t 3`\n\n\
             | mode | procs | iters | window | trials | min | median | max | lost updates \
             | mean lost | ns/incr | trials/s |\n\
             |:--|--:|--:|--:|--:|--:|--:|--:|:--|--:|--:|--:|\n\
             | unlocked | 2 | 3 | 1us | 3 | 4 | 5 | 6 | Sometimes (2/3) | 16.7% | 2000 | 1000 |\n\
             | atomic | 2 | 3 | 1us | 3 | 6 | 6 | 6 | Never | 0.0% | 2000 | 1000 |\n"
        );
    }

    #[test]
    fn the_heading_has_every_option_not_at_its_default() {
        use crate::model::window::Window;
        let mut settings = Settings::default();
        assert!(non_default_options(&settings).is_empty());
        settings.windows = vec![crate::model::window::Window::Busy(1_500), Window::Yield];
        settings.sleep_ns = 10_000_000;
        settings.jitter_ns = 1_234;
        settings.seed = 7;
        settings.pool = true;
        settings.trace = true;
        assert_eq!(
            non_default_options(&settings).join(" "),
            "-w 1500ns,yield --sleep 10ms --jitter 1234ns --seed 7 --pool --trace"
        );
    }

    #[test]
    fn a_replay_is_its_own_option() {
        use crate::model::mode::Mode;
        use crate::model::schedule::Strategy;
        use crate::model::trace::Replay;
        let replay = |trial| Replay {
            file: "docs/lesson.json".into(),
            trial,
            mode: Mode::Unlocked,
            lock: None,
            params: crate::output::fixture::params(2),
            total: 4,
            entries: Vec::new(),
            script: Vec::new(),
        };
        let mut settings = Settings {
            trace: true,
            schedule: Some(Strategy::Replay),
            replays: vec![replay(2)],
            ..Settings::default()
        };
        assert_eq!(
            non_default_options(&settings),
            ["--replay docs/lesson.json:2"]
        );
        settings.replays.push(replay(3));
        assert_eq!(
            non_default_options(&settings),
            ["--replay docs/lesson.json"]
        );
    }
}
