//! `faultline check-history`: the linearizability checker on its own, for a history recorded
//! anywhere (the format is documented in `faultline_sim::check::linearizability`).

use std::path::Path;

use faultline_sim::check::linearizability::{check, parse_history, Model, Verdict};

/// Returns the exit code: 0 linearizable, 1 not (with a small witness), 2 bad input or
/// undecided within the search budget.
pub fn check_history_command(path: &Path, model: &str) -> i32 {
    let model = match model {
        "register" => Model::Register,
        "kv" => Model::Kv,
        other => {
            eprintln!("error: --model {other}: expected `register` or `kv`");
            return 2;
        }
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: cannot read: {e}", path.display());
            return 2;
        }
    };
    let history = match parse_history(&text) {
        Ok(h) => h,
        Err(e) => {
            let field = e
                .field
                .as_ref()
                .map_or(String::new(), |f| format!("field `{f}`: "));
            eprintln!("error: {}:{}: {field}{}", path.display(), e.line, e.message);
            return 2;
        }
    };
    let verdict = check(&history, model);
    println!("{}: {} ops: {verdict}", path.display(), history.len());
    match verdict {
        Verdict::Linearizable => 0,
        Verdict::NotLinearizable { .. } => 1,
        Verdict::Unknown { .. } => 2,
    }
}
