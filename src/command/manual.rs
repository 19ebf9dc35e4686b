//! The man page: clap_mangen's name, description and options, with racecount's own synopsis
//! (with the values each option takes), output formats, exit status and examples.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_mangen::Man;

use crate::command::cli::Options;

const SYNOPSIS: &str = r".SH SYNOPSIS
\fBracecount\fR [\fB\-m\fR \fIMODE\fR[,\fIMODE\fR...]] [\fB\-p\fR \fIN\fR[,\fIN\fR...]] [\fB\-i\fR \fIN\fR[,\fIN\fR...]] [\fB\-t\fR \fIN\fR] [\fB\-w\fR \fIDUR\fR[,\fIDUR\fR...]] [\fB\-f\fR \fIFORMAT\fR] [\fB\-\-check\fR] [\fB\-\-trace\fR] [\fB\-\-pool\fR] [\fIOPTION\fR...]
.br
\fBracecount\fR \fB\-\-completions\fR \fISHELL\fR | \fB\-\-man\fR | \fB\-h\fR | \fB\-\-help\fR | \fB\-V\fR
";

const FORMATS: &str = r#".SH "OUTPUT FORMATS"
.TP
\fBhuman\fR (default)
A header at once, then each trial's total (a histogram above 20 trials), a summary row per mode and combination, and the relative speed of the modes.
.TP
\fBtotals\fR
Each trial's final total alone on its line, as the trial finishes.
.TP
\fBtsv\fR, \fBcsv\fR
A header, then one row per trial as it finishes; every parameter in its own column. Columns are only ever added at the end.
.TP
\fBjson\fR
One document: parameters, machine, every trial and a summary per mode and combination.
.TP
\fBjsonl\fR
One object per trial as it finishes (the csv fields), then one summary object.
.TP
\fBmarkdown\fR
The summary table, under a heading with the command line that made it.
"#;

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Ran to the end (with \fB\-\-check\fR: every trial exact).
.TP
\fB1\fR
\fB\-\-check\fR found a trial that lost updates.
.TP
\fB2\fR
Bad input, said in one line; nothing was forked.
.TP
\fB3\fR
A run failure: a worker died, could not be forked, or a trial timed out; every worker was killed and reaped.
.TP
\fB128+n\fR
Stopped by signal n (130 for Ctrl\-C, 143 for SIGTERM, 129 for SIGHUP): racecount reaps every worker, prints what finished and dies by the same signal.
"#;

const EXAMPLES: &str = r".SH EXAMPLES
.TP
\fBracecount \-p 10 \-i 20 \-m unlocked\fR
Lost updates, as in the Python lesson.
.TP
\fBracecount \-m mutex,atomic \-t 1000 \-\-check\fR
Exit 1 if any trial is not exact.
.TP
\fBracecount \-p 1,2,4,8 \-m unlocked,atomic\fR
How loss and cost grow with contention.
.TP
\fBracecount \-p 4 \-i 10 \-m unlocked \-t 1 \-\-trace\fR
Which updates were lost, and who overwrote whom.
.TP
\fBracecount \-m all \-t 200 \-\-export\-csv runs.csv\fR
The report on the screen, every trial in runs.csv.
";

/// Writes the man page (roff).
pub(crate) fn write(out: &mut dyn Write) -> io::Result<()> {
    // clap_mangen shows an option hidden from -h only by its long help: give every option
    // one, so that --man, --sleep and the others keep their description.
    let command =
        Options::command().mut_args(|arg| match (arg.get_long_help(), arg.get_help().cloned()) {
            (None, Some(help)) => arg.long_help(help),
            _ => arg,
        });
    let man = Man::new(command);
    man.render_title(out)?;
    man.render_name_section(out)?;
    out.write_all(SYNOPSIS.as_bytes())?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    out.write_all(FORMATS.as_bytes())?;
    out.write_all(EXIT_STATUS.as_bytes())?;
    out.write_all(EXAMPLES.as_bytes())?;
    man.render_version_section(out)
}
