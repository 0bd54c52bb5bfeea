//! Where and when a failing run broke, read from its checks' verdicts for the timeline's
//! violation marker: checks say it in words ("at 7.816 s: s5 became leader ..."), so the first
//! time and the first node name in a failed check's detail are taken; a check that names no
//! time broke at the end of the run (where the run stopped, or where it was judged).

use faultline_reports::Violation;

use crate::summary::Summary;

/// The first time in `text`, in ms: "7.816 s", "6400ms", "12 ms".
fn first_time_ms(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let starts_number = b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if !starts_number {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let number = &text[start..i];
        let mut j = i;
        if j < b.len() && b[j] == b' ' {
            j += 1;
        }
        let unit_end = |u: &str| {
            text[j..].starts_with(u)
                && !text[j + u.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric())
        };
        let scale = if unit_end("ms") {
            1.0
        } else if unit_end("s") {
            1000.0
        } else {
            continue;
        };
        if let Ok(v) = number.trim_end_matches('.').parse::<f64>() {
            return Some(v * scale);
        }
    }
    None
}

/// The index of the first of `names` that `text` mentions as a word.
fn first_node(text: &str, names: &[String]) -> Option<usize> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
        .find_map(|word| names.iter().position(|n| n == word))
}

/// The violation to mark: of the checks that failed (and judged something), the one whose
/// detail names the earliest time. `None` for a run that did not fail.
pub fn violation(summary: &Summary) -> Option<Violation> {
    summary
        .checks
        .iter()
        .filter(|c| !c.ok && !c.vacuous)
        .map(|c| {
            let at_ms = first_time_ms(&c.detail)
                .filter(|t| t.is_finite() && *t <= summary.end_ms)
                .unwrap_or(summary.end_ms);
            Violation {
                at_ms,
                lane: first_node(&c.detail, &summary.nodes),
                check: c.name.clone(),
                detail: c.detail.clone(),
            }
        })
        .min_by(|a, b| a.at_ms.total_cmp(&b.at_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_nodes_are_read_from_words() {
        assert_eq!(first_time_ms("at 7.816 s: s5 became leader"), Some(7816.0));
        assert_eq!(
            first_time_ms("after the last fault at 6400ms: x"),
            Some(6400.0)
        );
        assert_eq!(
            first_time_ms("two leaders in epoch 3 (s1, s2) at 12 ms"),
            Some(12.0)
        );
        assert_eq!(first_time_ms("s1 and s2 hold it, 3 servers"), None);
        assert_eq!(first_time_ms("term 4s of 3 ops"), Some(4000.0));
        let names: Vec<String> = ["s1", "s5", "c1"].map(String::from).to_vec();
        assert_eq!(
            first_node("at 7.8 s: s5 became leader over s1", &names),
            Some(1)
        );
        assert_eq!(first_node("s55 and cs1 are not nodes", &names), None);
    }
}
