//! `deskcliq demo`: runs to completion by itself and shows each kind of message.

use std::process::Command;

fn demo(locale: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_deskcliq"))
        .args(["demo", "--fast", "--locale", locale])
        .output()
        .expect("run deskcliq demo");
    assert!(
        out.status.success(),
        "demo failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_demo_runs_to_completion_and_shows_every_kind_of_message() {
    let out = demo("en");
    for expected in [
        "── #support",
        "*New ticket*",
        "Status: Open → On Hold",
        "── DM to Hanako Sato",
        "Taro Suzuki mentioned you",
        "Customer rating: Good",
        "ticket updates",
        "[Change status] [Assign] [Reply] [Comment] [Open in Desk]",
        "Demo finished",
    ] {
        assert!(out.contains(expected), "{expected} missing from:\n{out}");
    }
    // Customer text stays inert in the printed cards too.
    assert!(!out.contains("{@all}"), "{out}");
    // Every ticket of the burst reached Cliq, one way or another.
    for n in 1..=25 {
        assert!(
            out.contains(&format!("Invoice copy {n} "))
                || out.contains(&format!("Invoice copy {n}\n")),
            "copy {n} missing"
        );
    }
}

#[test]
fn the_demo_speaks_japanese() {
    let out = demo("ja");
    assert!(out.contains("新しいチケット"), "{out}");
    assert!(out.contains("ステータス変更"), "{out}");
    assert!(out.contains("デモ終了"), "{out}");
}
