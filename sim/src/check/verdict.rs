//! A check's final word, and how much it judged: a check that judged nothing says so
//! (`vacuous`) instead of reading like a pass.

use serde::{Deserialize, Serialize};

/// A checker's final word.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The check's name.
    pub name: String,
    /// Whether the run may pass on it: it held, and it judged something (or the scenario
    /// lets it judge nothing, see [`Verdict::allow_vacuous`]).
    pub ok: bool,
    /// How many things it judged (operations, terms, servers); 0 for a violation, where
    /// the count does not matter.
    #[serde(default)]
    pub judged: u64,
    /// What `judged` counts, plural ("ops", "terms").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub what: String,
    /// It held because it judged nothing: its `ok`, if any, says nothing about the run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vacuous: bool,
    /// What was checked, or what broke, with times and nodes.
    pub detail: String,
}

impl Verdict {
    /// A check found nothing wrong in `judged` `what` ("ops"). Judging nothing makes the
    /// verdict vacuous, which fails the run unless the scenario allows it.
    pub fn held(
        name: impl Into<String>,
        judged: u64,
        what: &str,
        detail: impl Into<String>,
    ) -> Verdict {
        Verdict {
            name: name.into(),
            ok: judged > 0,
            judged,
            what: what.to_string(),
            vacuous: judged == 0,
            detail: detail.into(),
        }
    }

    /// A check found a violation.
    pub fn violated(name: impl Into<String>, detail: impl Into<String>) -> Verdict {
        Verdict {
            name: name.into(),
            ok: false,
            judged: 0,
            what: String::new(),
            vacuous: false,
            detail: detail.into(),
        }
    }

    /// `held` when `result` is `Ok(detail)`, `violated` when it is `Err(detail)`.
    pub fn from_result(
        name: impl Into<String>,
        judged: u64,
        what: &str,
        result: Result<String, String>,
    ) -> Verdict {
        match result {
            Ok(detail) => Verdict::held(name, judged, what, detail),
            Err(detail) => Verdict::violated(name, detail),
        }
    }

    /// The scenario lets this check judge nothing: a vacuous verdict no longer fails the
    /// run (it is still shown as vacuous).
    pub fn allow_vacuous(&mut self) {
        if self.vacuous {
            self.ok = true;
        }
    }

    /// How the verdict reads in a verdict line: `ok`, `vacuous` (allowed), or `FAIL`.
    pub fn status(&self) -> &'static str {
        match (self.ok, self.vacuous) {
            (true, false) => "ok",
            (true, true) => "vacuous",
            (false, _) => "FAIL",
        }
    }

    /// "judged 412 ops", "judged nothing".
    pub fn judged_text(&self) -> String {
        match (self.judged, self.what.is_empty()) {
            (0, _) => "judged nothing".to_string(),
            (n, true) => format!("judged {n}"),
            (n, false) => format!("judged {n} {}", self.what),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging_nothing_is_vacuous_and_fails_until_allowed() {
        let judged = Verdict::held("c", 3, "ops", "fine");
        assert!(judged.ok && !judged.vacuous);
        assert_eq!(judged.status(), "ok");
        assert_eq!(judged.judged_text(), "judged 3 ops");

        let mut empty = Verdict::held("c", 0, "ops", "no op ran");
        assert!(!empty.ok && empty.vacuous);
        assert_eq!(empty.status(), "FAIL");
        assert_eq!(empty.judged_text(), "judged nothing");
        empty.allow_vacuous();
        assert!(empty.ok);
        assert_eq!(empty.status(), "vacuous");

        let mut broken = Verdict::violated("c", "two leaders");
        broken.allow_vacuous();
        assert!(
            !broken.ok && !broken.vacuous,
            "a violation is never excused"
        );
    }

    #[test]
    fn an_old_summary_without_counts_still_reads() {
        let v: Verdict = serde_json::from_str(r#"{"name":"c","ok":true,"detail":"d"}"#).unwrap();
        assert!(v.ok && !v.vacuous && v.judged == 0);
    }
}
