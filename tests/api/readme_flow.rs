//! The README's billing-portal flow, run exactly as written: the shell block
//! between its `portal-flow` markers, against a fresh server, each answer
//! checked against the comment under its command (`...` stands for any text).

use crate::{both_databases, common::*};

/// The commands of the README's portal flow, and the answers it promises.
fn portal_flow() -> (String, Vec<String>) {
    let readme = include_str!("../../README.md");
    let start = readme.find("<!-- portal-flow: start -->").expect("the README has the portal flow");
    let end = readme.find("<!-- portal-flow: end -->").expect("the portal flow ends");
    let block = &readme[start..end];
    let script = block.split("```sh\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a sh block");
    let promised = script.lines().filter_map(|l| l.strip_prefix("# {")).map(|l| format!("{{{l}")).collect();
    (script.to_string(), promised)
}

/// Whether `answer` has the shape `promised`: its parts between `...`, in order,
/// the first at the start and the last at the end.
fn matches(promised: &str, answer: &str) -> bool {
    let parts: Vec<&str> = promised.split("...").collect();
    if parts.len() == 1 {
        return answer == promised;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !answer.starts_with(first) || !answer.ends_with(last) || answer.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &answer[first.len()..answer.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

both_databases! {
    async fn the_readme_portal_flow_runs_as_written(backend) {
        let app = TestApp::spawn(backend).await;
        let (script, promised) = portal_flow();
        assert!(promised.len() > 20, "the flow promises too few answers: {}", promised.len());
        let base = app.base.clone();
        // The server runs on this test's runtime: the script waits on a thread of its own.
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new("bash")
                .args(["-euo", "pipefail", "-c", &script])
                .env("S", format!("{base}/api/json"))
                .env("A", format!("auth_username={ADMIN};auth_password={ADMIN_PASSWORD}"))
                .output()
        })
        .await
        .unwrap()
        .expect("bash runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "the flow failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
        let answers: Vec<&str> = stdout.lines().collect();
        assert_eq!(answers.len(), promised.len(), "one answer per command:\n{stdout}");
        for (answer, promised) in answers.iter().zip(&promised) {
            assert!(matches(promised, answer), "the README promises\n  {promised}\nbut the server answered\n  {answer}");
        }
    }
}

#[test]
fn the_shape_matcher_can_refuse() {
    assert!(matches(r#"{"a":1,...,"z":2}"#, r#"{"a":1,"b":3,"z":2}"#));
    assert!(!matches(r#"{"a":1,...,"z":2}"#, r#"{"a":2,"b":3,"z":2}"#));
    assert!(!matches(r#"{"a":1,...,"q":5,...}"#, r#"{"a":1,"b":3,"z":2}"#));
    assert!(matches("exact", "exact") && !matches("exact", "exactly"));
}
