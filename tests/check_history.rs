//! `faultline check-history` on the shipped histories (either flavor): faultline's JSON lines,
//! porcupine's etcd logs and kv histories, Jepsen and Knossos EDN, bad and empty input, the
//! budget and the view.

use std::path::PathBuf;
use std::process::Command;

/// A scratch directory, removed at the end of the test (tests/common is simulator-only, and
/// this suite runs in either flavor).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("faultline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check_history(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("check-history")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn check_history_judges_the_shipped_histories() {
    let (code, out) = check_history(&["tests/data/history-linearizable.jsonl"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check_history(&["tests/data/history-stale-read.jsonl"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not linearizable on key \"z\""), "{out}");
    assert!(
        out.lines().filter(|l| l.starts_with('{')).count() <= 6,
        "a small witness: {out}"
    );
    let scratch = Scratch::new("bad-history");
    let bad = scratch.0.join("bad.jsonl");
    std::fs::write(&bad, "{\"client\":1,\"invoke_us\":1,\"return_us\":2,\"op\":\"puut\",\"key\":\"x\",\"value\":\"1\",\"result\":\"ok\"}\n").unwrap();
    let (code, out) = check_history(&[&bad.to_string_lossy()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(":1: field `op`: unknown operation"), "{out}");
}

#[test]
fn porcupine_etcd_logs_get_porcupines_verdicts() {
    // porcupine_test.go: TestEtcdJepsen000 expects false, TestEtcdJepsen002 true.
    let (code, out) = check_history(&["tests/data/porcupine/etcd_002.log"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(" ops (jepsen-log, "),
        "detected from the content: {out}"
    );
    let (code, out) = check_history(&["tests/data/porcupine/etcd_000.log"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("not linearizable on key \"register\""),
        "{out}"
    );
}

#[test]
fn porcupine_kv_histories_with_string_appends() {
    // TestKv1ClientOk / TestKv1ClientBad.
    let (code, out) = check_history(&["tests/data/porcupine/c01-ok.txt"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(" ops (edn, "), "{out}");
    let (code, out) = check_history(&["tests/data/porcupine/c01-bad.txt"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("\"op\":\"concat\""),
        "the witness has appends: {out}"
    );
}

#[test]
fn knossos_and_jepsen_edn_histories() {
    let (code, out) = check_history(&["tests/data/knossos/cas-register-bug.edn"]);
    assert_eq!(code, Some(0), "{out}");
    for bad in ["immediate-failure", "bad-analysis"] {
        let (code, out) = check_history(&[&format!("tests/data/knossos/{bad}.edn")]);
        assert_eq!(code, Some(1), "{bad}: {out}");
    }
    // A Jepsen history.edn: the :info cas took effect (a later read saw it), the :fail write
    // did not, and the nemesis is ignored.
    let (code, out) = check_history(&["tests/data/jepsen-history.edn"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(": 5 ops (edn, "), "{out}");
    assert!(out.trim_end().ends_with("s): linearizable"), "{out}");
    let scratch = Scratch::new("jepsen-edn");
    let failed_write_seen = scratch.0.join("history.edn");
    let text = std::fs::read_to_string("tests/data/jepsen-history.edn").unwrap();
    std::fs::write(
        &failed_write_seen,
        text.replace(
            ":ok, :f :read, :value 4, :process 7",
            ":ok, :f :read, :value 5, :process 7",
        ),
    )
    .unwrap();
    let (code, out) = check_history(&[&failed_write_seen.to_string_lossy()]);
    assert_eq!(code, Some(1), "a :fail write did not happen: {out}");
}

#[test]
fn list_append_histories_both_ways() {
    let (code, out) = check_history(&["tests/data/history-append-ok.jsonl"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check_history(&["tests/data/history-append-bad.jsonl"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not linearizable on key \"l\""), "{out}");
}

#[test]
fn bad_input_names_file_line_and_field() {
    let scratch = Scratch::new("bad-edn");
    let cases: [(&str, &str, &str); 6] = [
        (
            "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0 :type :ok :f :read :value}]",
            "edn",
            ":2: malformed EDN: a map needs an even number of forms",
        ),
        (
            "{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :raed, :value 1}",
            "edn",
            ":2: field `:f`: completes :raed but process 0 invoked :read on line 1",
        ),
        (
            "{:process 0, :type :invoke, :f :cas, :value 3}",
            "edn",
            ":1: field `:value`: a cas takes [expected new], got 3",
        ),
        (
            "{:process 0, :type :invoke, :f :read, :value nil}\n\n{:process 0, :type :invoke, :f :read, :value nil}",
            "edn",
            ":3: field `:process`: process 0 invokes again while its op from line 1 is still open",
        ),
        (
            "{:type :invoke, :f :read, :value nil}",
            "edn",
            ":1: field `:process`: missing",
        ),
        (
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\t3",
            "jepsen-log",
            ":2: field `:process`: process 1 completes an op it never invoked",
        ),
    ];
    for (i, (text, format, expected)) in cases.iter().enumerate() {
        let path = scratch.0.join(format!("bad-{i}.edn"));
        std::fs::write(&path, text).unwrap();
        let (code, out) = check_history(&[&path.to_string_lossy()]);
        assert_eq!(code, Some(2), "{out}");
        let expected = format!("error: {}{expected} (read as {format})", path.display());
        assert!(out.contains(&expected), "expected {expected:?} in {out}");
    }
    // --format forces a reader: an EDN file read as JSON lines fails on its first line.
    let (code, out) = check_history(&["tests/data/jepsen-history.edn", "--format", "jsonl"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("jepsen-history.edn:1: not valid JSON"),
        "{out}"
    );
    let (code, out) = check_history(&["tests/data/jepsen-history.edn", "--format", "yaml"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("--format yaml"), "{out}");
}

#[test]
fn empty_history_is_bad_input_not_a_pass() {
    let scratch = Scratch::new("empty-history");
    for (name, text) in [
        ("empty.jsonl", ""),
        ("blank.edn", "\n\n"),
        ("all-failed.edn", "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :fail, :f :write, :value 1}\n"),
    ] {
        let path = scratch.0.join(name);
        std::fs::write(&path, text).unwrap();
        let (code, out) = check_history(&[&path.to_string_lossy()]);
        assert_eq!(code, Some(2), "{name}: {out}");
        assert!(out.contains("empty history: nothing to check"), "{name}: {out}");
    }
}

#[test]
fn budget_flag_bounds_the_search() {
    // Thirty overlapping writes and a read of a value none wrote: proving it takes every
    // subset of the writes, far beyond a tenth of a second.
    let scratch = Scratch::new("budget");
    let path = scratch.0.join("adversarial.jsonl");
    let mut text = String::new();
    for c in 0..30 {
        text.push_str(&format!("{{\"client\":{c},\"invoke_us\":0,\"return_us\":1000,\"op\":\"put\",\"key\":\"x\",\"value\":\"{c}\",\"result\":\"ok\"}}\n"));
    }
    text.push_str("{\"client\":99,\"invoke_us\":0,\"return_us\":1000,\"op\":\"get\",\"key\":\"x\",\"result\":{\"value\":\"none\"}}\n");
    std::fs::write(&path, text).unwrap();
    let started = std::time::Instant::now();
    let (code, out) = check_history(&[&path.to_string_lossy(), "--budget", "0.1"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("budget exhausted after 0.1 s, undecided on key \"x\""),
        "{out}"
    );
    assert!(started.elapsed().as_secs() < 10);
    let (code, out) = check_history(&[&path.to_string_lossy(), "--budget", "0"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("positive number of seconds"), "{out}");
}

#[test]
fn view_draws_the_failing_key() {
    let scratch = Scratch::new("history-view");
    let page = scratch.0.join("view.html");
    let (code, out) = check_history(&[
        "tests/data/history-stale-read.jsonl",
        "--view",
        &page.to_string_lossy(),
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("view of key \"z\""), "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<svg"), "{html}");
    assert!(html.contains("Longest linearizable prefix found"), "{html}");
    assert!(html.contains("<tr class=\"stuck\">"), "{html}");
    let svg = scratch.0.join("view.svg");
    let (code, out) = check_history(&[
        "tests/data/porcupine/etcd_000.log",
        "--view",
        &svg.to_string_lossy(),
    ]);
    assert_eq!(code, Some(1), "{out}");
    let drawing = std::fs::read_to_string(&svg).unwrap();
    assert!(drawing.starts_with("<svg"), "{drawing}");
    assert!(
        drawing.contains("cannot be placed after the prefix"),
        "{drawing}"
    );
}
