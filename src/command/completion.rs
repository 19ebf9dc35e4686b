//! Shell completion scripts: clap_complete's, with `--mode`'s comma-separated list completed
//! item by item in bash (`--mode unlocked,<TAB>` offers the next mode), which clap_complete's
//! static scripts cannot do.

use clap::{CommandFactory, ValueEnum};
use clap_complete::Shell;

use crate::command::cli::{ModeChoice, Options};

/// The completion script for `shell`.
pub(crate) fn script(shell: Shell) -> Vec<u8> {
    let mut command = Options::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "racecount", &mut script);
    if shell != Shell::Bash {
        return script;
    }
    let text = String::from_utf8_lossy(&script);
    let modes: Vec<String> = ModeChoice::value_variants()
        .iter()
        .filter_map(|m| Some(m.to_possible_value()?.get_name().to_string()))
        .collect();
    let modes = modes.join(" ");
    let whole = format!(r#"COMPREPLY=($(compgen -W "{modes}" -- "${{cur}}"))"#);
    // The items before the last comma stay as typed and are not offered again; the last one
    // is completed.
    let by_item = format!(
        r#"local done="" left=" {modes} " m; [[ "${{cur}}" == *,* ]] && done="${{cur%,*}},"
                    for m in ${{done//,/ }}; do left="${{left// $m / }}"; done
                    COMPREPLY=($(compgen -P "${{done}}" -W "${{left}}" -- "${{cur##*,}}"))
                    compopt -o nospace"#
    );
    let text = text.replace(&whole, &by_item);
    // --schedule's words (its value parser takes pct:D, so clap has no list of them).
    let nothing = "--schedule)\n                    COMPREPLY=(\"${cur}\")";
    let strategies = "--schedule)\n                    \
                      COMPREPLY=($(compgen -W \"random pct:2 pct:3 lockstep worst serial\" -- \"${cur}\"))";
    text.replace(nothing, strategies).into_bytes()
}
