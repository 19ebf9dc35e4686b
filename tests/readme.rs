//! README.md, run as written: every command of every code block against the binary under
//! test, its output compared with what the README shows (the rules: `common/readme.rs`), and
//! the commands of "Run it" in a terminal, as a person runs them.

mod common;
use common::readme::{self, Compare, Sandbox};
use common::terminal::OnTerminal;
use common::*;

#[test]
fn every_code_block_is_fenced_and_says_what_it_holds() {
    let text = readme::readme();
    let indented = readme::indented_blocks(&text);
    assert!(
        indented.is_empty(),
        "README.md lines {indented:?} make indented code blocks, which this test cannot tell \
         from prose: fence them as ```console (commands and output) or ```sh (commands)"
    );
    for block in readme::blocks(&text) {
        assert!(
            ["console", "sh"].contains(&block.kind.as_str()),
            "README.md:{}: a ``` block of kind {:?}: console (commands and what they print) or \
             sh (commands alone)",
            block.line,
            block.kind
        );
        let examples = readme::examples(&block);
        assert!(
            !examples.is_empty(),
            "README.md:{}: a block without a command",
            block.line
        );
        for example in examples {
            let command = example.command.trim_start();
            assert!(
                command.starts_with("racecount ")
                    || command == "racecount"
                    || command.starts_with("cargo run --release -- ")
                    || command.starts_with("mkdir -p ")
                    || command.starts_with("taskset ")
                    || readme::not_run_here(command).is_some(),
                "README.md:{}: `{command}` is neither racecount nor a command whose reason for \
                 not running here is in NOT_RUN_HERE",
                example.line
            );
        }
    }
}

/// Runs every block's commands (a block's commands in order, in a sandbox of its own; blocks
/// side by side) and lists every difference from the README. The commands that need a
/// database server run in tests/store_servers.rs.
#[test]
fn every_readme_command_prints_what_the_readme_shows() {
    let (blocks, not_run) = readme::runnable(&[]);
    let count = blocks.len();
    assert!(
        count >= 10,
        "only {count} blocks found: is README.md parsed?"
    );
    let failures = readme::check_blocks(blocks, &[]);
    assert!(
        failures.is_empty(),
        "{} of the README's commands differ from what it shows ({count} blocks run, \
         {not_run} commands not run here):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The commands under "Run it", each on an 80 x 24 terminal, as a newcomer types them (with the
/// binary cargo built for the tests in place of `cargo run --release --`): each must end on
/// its own, exit 0, and print its report; the database command among them.
#[test]
fn the_run_it_commands_work_in_a_terminal() {
    let text = readme::readme();
    let commands: Vec<String> = readme::blocks(&text)
        .iter()
        .filter(|b| b.section == "Run it")
        .flat_map(readme::examples)
        .filter_map(|e| e.command.strip_prefix(readme::RUN_IT).map(str::to_string))
        .collect();
    assert!(
        commands.iter().any(|c| c.contains("--store sqlite:")),
        "no database command under Run it: {commands:?}"
    );
    let sandbox = Sandbox::new("terminal");
    for line in &commands {
        let line = line.replace("/tmp/", &format!("{}/", sandbox.dir.display()));
        let run = OnTerminal::spawn(&args(&line), &unique_seed());
        let (status, text) = run.finish(12.0 * PATIENCE_SECS);
        assert!(status.success(), "{line}: {status:?}\n{text}");
        assert!(text.contains("lost updates:"), "{line}: no report\n{text}");
        assert!(!text.contains("error"), "{line}:\n{text}");
    }
    let left: Vec<_> = std::fs::read_dir(&sandbox.dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !["bin", "home", "docs"].contains(&n.to_str().unwrap_or("")))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The matcher itself: what it must refuse, so that the test above can fail.
#[test]
fn the_comparison_refuses_other_words_and_other_numbers() {
    let shown = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
    let readme_words = shown("mode  min\nunlocked  169  Sometimes (5/10)\n\nspeed (mean): x");
    assert!(
        readme::matches(
            &readme_words,
            "mode min\nunlocked 200 Never",
            Compare::Words
        )
        .is_ok()
    );
    assert!(
        readme::matches(
            &readme_words,
            "mode min\nunlocked 200 Never\n\nspeed (mean): y ran faster",
            Compare::Words
        )
        .is_ok()
    );
    assert!(
        readme::matches(
            &readme_words,
            "mode min lost\nunlocked 200 Never",
            Compare::Words
        )
        .is_err()
    );
    assert!(readme::matches(&readme_words, "mode min\nmutex 200 Never", Compare::Words).is_err());
    assert!(readme::matches(&readme_words, "mode min\nunlocked 200", Compare::Words).is_err());
    let elided = shown("in /tmp/servers.…/pg; each");
    assert!(readme::matches(&elided, "in /tmp/servers.Ab12/pg; each", Compare::Words).is_ok());
    assert!(readme::matches(&elided, "in /tmp/other.Ab12/pg; each", Compare::Words).is_err());
    let timed = shown("one column = 3.88us");
    assert!(readme::matches(&timed, "one column = 1.2ms", Compare::Words).is_ok());
    assert!(readme::matches(&timed, "one column = 1.2ms", Compare::Numbers).is_ok());
    assert!(readme::matches(&timed, "one row = 1.2ms", Compare::Words).is_err());
    let exact = shown("unlocked  166 177\nwaited 51.9us\n...\nexplained: 7 lost");
    assert!(
        readme::matches(
            &exact,
            "unlocked 166  177\nwaited 8us\nmore\nlines\nexplained: 7 lost",
            Compare::Numbers
        )
        .is_ok()
    );
    assert!(
        readme::matches(
            &exact,
            "unlocked 166 178\nwaited 8us\nexplained: 7 lost",
            Compare::Numbers
        )
        .is_err()
    );
    assert!(
        readme::matches(
            &exact,
            "unlocked 166 177\nwaited 8us\nexplained: 6 lost",
            Compare::Numbers
        )
        .is_err()
    );
    assert!(
        readme::matches(&exact, "unlocked 166 177\nwaited 8ms", Compare::Numbers).is_err(),
        "the block's last line is missing"
    );
}
