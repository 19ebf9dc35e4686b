//! Extra files a run writes beside its output on stdout (`--trace-svg`, `--export-json`,
//! `--export-csv`, `--export-markdown`, `--export-html`), all behind one list, as hyperfine's
//! `ExportManager` does. Adding one means a variant here, its option in `cli`, and its renderer.

use std::path::PathBuf;

use super::Render;
use super::csv::{COMMA, Csv};
use super::html::html;
use super::json::Json;
use super::markdown::Markdown;
use super::svg::svg;
use crate::model::machine::Machine;
use crate::results::{Keep, Report};

/// What an extra file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportKind {
    /// The traced timeline drawn as SVG.
    TraceSvg,
    /// What `--format json` prints.
    Json,
    /// What `--format csv` prints.
    Csv,
    /// What `--format markdown` prints.
    Markdown,
    /// One self-contained page: the run, each group's totals and costs, the races step by step.
    Html,
}

impl ExportKind {
    /// The option that asks for it, for error messages.
    pub(crate) fn option(self) -> &'static str {
        match self {
            ExportKind::TraceSvg => "--trace-svg",
            ExportKind::Json => "--export-json",
            ExportKind::Csv => "--export-csv",
            ExportKind::Markdown => "--export-markdown",
            ExportKind::Html => "--export-html",
        }
    }

    /// What the file needs kept of every trial.
    pub(crate) fn keep(self) -> Keep {
        match self {
            ExportKind::TraceSvg => Keep {
                trials: false,
                workers: false,
            },
            // The page embeds the json document, every worker's count included.
            ExportKind::Json | ExportKind::Html => Keep {
                trials: true,
                workers: true,
            },
            ExportKind::Csv | ExportKind::Markdown => Keep {
                trials: true,
                workers: false,
            },
        }
    }

    /// The file's bytes.
    pub(crate) fn render(self, report: &Report, machine: &Machine) -> Vec<u8> {
        let mut bytes = Vec::new();
        let written = match self {
            ExportKind::TraceSvg => {
                bytes = svg(report).into_bytes();
                Ok(())
            }
            ExportKind::Json => Json {
                machine: machine.clone(),
            }
            .render(report, &mut bytes),
            ExportKind::Csv => Csv { separator: COMMA }.render(report, &mut bytes),
            ExportKind::Markdown => Markdown.render(report, &mut bytes),
            ExportKind::Html => {
                bytes = html(report, machine).into_bytes();
                Ok(())
            }
        };
        // Writing to a Vec cannot fail.
        debug_assert!(written.is_ok());
        bytes
    }
}

/// One extra file to write after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Export {
    pub kind: ExportKind,
    pub path: PathBuf,
}

impl Export {
    /// Writes the file.
    pub(crate) fn write(&self, report: &Report, machine: &Machine) -> Result<(), ExportError> {
        std::fs::write(&self.path, self.kind.render(report, machine)).map_err(|source| {
            ExportError {
                option: self.kind.option(),
                path: self.path.clone(),
                source,
            }
        })
    }
}

/// An extra file that could not be written after the run.
#[derive(Debug)]
pub struct ExportError {
    pub option: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot write {} {}: {}",
            self.option,
            self.path.display(),
            self.source
        )
    }
}
