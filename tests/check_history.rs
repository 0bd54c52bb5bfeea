//! `faultline check-history` on the shipped histories (either flavor).

use std::process::Command;

fn check_history(path: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["check-history", path])
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
    let (code, out) = check_history("tests/data/history-linearizable.jsonl");
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check_history("tests/data/history-stale-read.jsonl");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not linearizable on key \"z\""), "{out}");
    assert!(
        out.lines().filter(|l| l.starts_with('{')).count() <= 6,
        "a small witness: {out}"
    );
    let bad = std::env::temp_dir().join(format!(
        "faultline-bad-history-{}.jsonl",
        std::process::id()
    ));
    std::fs::write(&bad, "{\"client\":1,\"invoke_us\":1,\"return_us\":2,\"op\":\"puut\",\"key\":\"x\",\"value\":\"1\",\"result\":\"ok\"}\n").unwrap();
    let (code, out) = check_history(&bad.to_string_lossy());
    let _ = std::fs::remove_file(&bad);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(":1: field `op`: unknown operation"), "{out}");
}
