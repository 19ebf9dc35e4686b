//! The output formats, in one table: what each keeps of every trial, what it prints as trials
//! finish, and what it prints at the end. Adding a format means a variant here (its name on
//! the command line comes from clap's `ValueEnum`) and a renderer file beside this one.

use std::io::Write;

use clap::ValueEnum;

use super::csv::{COMMA, CsvStream, TAB};
use super::jsonl::{JsonlStream, JsonlSummary};
use super::totals::TotalsStream;
use super::{Render, Surroundings, human, json, markdown};
use crate::model::settings::Settings;
use crate::results::{Keep, Observer};

/// `--format`: how the results reach stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Totals,
    Tsv,
    Json,
    Jsonl,
    Csv,
    Markdown,
}

impl Format {
    /// `--format`'s line in `-h`.
    pub fn short_help() -> String {
        "How to print the results: see --help".to_string()
    }

    /// `--format`'s text in `--help`: every format and what it prints.
    pub fn long_help() -> String {
        let each: Vec<String> = Format::value_variants()
            .iter()
            .map(|f| format!("{}: {}", f.name(), f.describe()))
            .collect();
        format!("How to print the results\n\n{}", each.join(" "))
    }

    /// One sentence on what the format prints, for `--help`.
    fn describe(self) -> &'static str {
        match self {
            Format::Human => "for people (tables, histogram, verdicts); the default.",
            Format::Totals => "each trial's final total alone on a line, for shell loops.",
            Format::Tsv | Format::Csv => {
                "a header, then one row per trial as it finishes, every parameter in its own \
                 column."
            }
            Format::Json => "one document with every trial.",
            Format::Jsonl => "one object per trial as it finishes, then a summary object.",
            Format::Markdown => "the summary table.",
        }
    }

    /// The name on the command line.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string())
    }

    /// Whether the format shows what `--trace` finds.
    pub fn shows_trace(self) -> bool {
        match self {
            Format::Human | Format::Json => true,
            Format::Totals | Format::Tsv | Format::Jsonl | Format::Csv | Format::Markdown => false,
        }
    }

    /// What the format needs kept of every trial.
    pub fn keep(self) -> Keep {
        match self {
            // csv, tsv and jsonl stream their rows, but --export files and jsonl's summary
            // line are made from the kept trials.
            Format::Human | Format::Csv | Format::Tsv | Format::Jsonl | Format::Markdown => Keep {
                trials: true,
                workers: false,
            },
            // Every worker's count of every trial: procs times the memory, so only json keeps it.
            Format::Json => Keep {
                trials: true,
                workers: true,
            },
            // Totals are printed as they come; nothing grows with the trial count.
            Format::Totals => Keep {
                trials: false,
                workers: false,
            },
        }
    }

    /// What the format prints as each trial finishes, if anything.
    pub fn live<'o>(
        self,
        out: &'o mut dyn Write,
        settings: &'o Settings,
        surroundings: &Surroundings,
    ) -> Option<Box<dyn Observer + 'o>> {
        match self {
            Format::Human => Some(Box::new(human::HumanHeader::new(
                out,
                settings,
                surroundings.width,
            ))),
            Format::Totals => Some(Box::new(TotalsStream::new(out))),
            Format::Csv => Some(Box::new(CsvStream::new(out, COMMA, settings))),
            Format::Tsv => Some(Box::new(CsvStream::new(out, TAB, settings))),
            Format::Jsonl => Some(Box::new(JsonlStream::new(out, settings))),
            Format::Json | Format::Markdown => None,
        }
    }

    /// What the format prints once the run is over, if anything is left to print.
    pub fn at_end(self, surroundings: &Surroundings) -> Option<Box<dyn Render>> {
        match self {
            // The header went out before the first trial.
            Format::Human => Some(Box::new(human::Human {
                color: surroundings.color,
                width: surroundings.width,
                stack: surroundings.width_known,
                header: false,
            })),
            // Every line went out as it came.
            Format::Totals | Format::Csv | Format::Tsv => None,
            Format::Json => Some(Box::new(json::Json {
                machine: surroundings.machine.clone(),
            })),
            Format::Jsonl => Some(Box::new(JsonlSummary {
                machine: surroundings.machine.clone(),
            })),
            Format::Markdown => Some(Box::new(markdown::Markdown)),
        }
    }
}
