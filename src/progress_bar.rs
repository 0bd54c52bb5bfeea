//! Progress bars for long work (explore, byzantine, compare, shrink), drawn with `indicatif`
//! on stderr, and only when stderr is a terminal: piped into a log or a test, nothing is
//! drawn and the commands print what they always did.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether bars are drawn: stderr is a terminal.
pub(crate) fn drawn() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar counting `total` `unit` ("seeds", "runs"), or a counter without an end when `total`
/// is `None`; hidden when stderr is not a terminal.
pub(crate) fn bar(total: Option<u64>, unit: &str) -> ProgressBar {
    if !drawn() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = template(total.is_some(), unit);
    // A template that does not parse is a bug here, not the user's: fall back to the default.
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The bar's look: with a known total, a bar and an estimate of the time left; without, a
/// spinner and a count.
fn template(bounded: bool, unit: &str) -> String {
    if bounded {
        format!(
            "  [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} ({{per_sec}}, eta {{eta}}) {{msg}}"
        )
    } else {
        format!("  {{spinner}} [{{elapsed_precise}}] {{pos}} {unit} ({{per_sec}}) {{msg}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        for unit in ["seeds", "runs"] {
            for bounded in [true, false] {
                let t = template(bounded, unit);
                assert!(ProgressStyle::with_template(&t).is_ok(), "{t}");
            }
        }
        // Under a test harness stderr is captured, not a terminal: nothing is drawn.
        if !drawn() {
            assert!(bar(Some(3), "seeds").is_hidden());
        }
    }
}
