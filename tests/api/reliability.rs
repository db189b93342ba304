//! Retries that are safe (`Idempotency-Key`) and hostile input.

use crate::{
    both_databases,
    common::*,
    tenancy::{PW, person},
};

async fn keyed(app: &TestApp, key: &str, user: (&str, &str), call: &str, params: &[(&str, &str)]) -> Answer {
    let mut pairs = vec![("auth_username", user.0), ("auth_password", user.1)];
    pairs.extend_from_slice(params);
    let response = app.client.post(app.url(call)).header("Idempotency-Key", key).form(&pairs).send().await.unwrap();
    Answer::from(response).await
}

const ADMIN_USER: (&str, &str) = (ADMIN, ADMIN_PASSWORD);

both_databases! {
    async fn a_retry_gets_the_first_answer_without_acting_twice(backend) {
        let app = TestApp::spawn(backend).await;
        let first = keyed(&app, "k-1", ADMIN_USER, "plans/create", &[("name", "Once")]).await;
        let again = keyed(&app, "k-1", ADMIN_USER, "plans/create", &[("name", "Once")]).await;
        assert_eq!(first.expect("200").body, again.body);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM plans WHERE name = 'Once'").await, 1);
        assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM audit WHERE call = 'plans/create'").await, 1, "a replay is not audited");
        // The same key with other parameters is refused.
        keyed(&app, "k-1", ADMIN_USER, "plans/create", &[("name", "Twice")]).await.expect_invalid(&["Idempotency-Key"]);
        // Refusals are replayed too.
        let refused = keyed(&app, "k-2", ADMIN_USER, "plans/create", &[("name", "")]).await;
        refused.expect_invalid(&["name"]);
        assert_eq!(keyed(&app, "k-2", ADMIN_USER, "plans/create", &[("name", "")]).await.body, refused.body);
        // Keys belong to the person who sent them.
        person(&app, "other", 2, 1).await;
        keyed(&app, "k-1", ("other", PW), "plans/create", &[("name", "Theirs")]).await.expect("200");
        // Reads and validation=1 ignore the header.
        keyed(&app, "k-3", ADMIN_USER, "plans/create", &[("name", "V1"), ("validation", "1")]).await.expect("201");
        keyed(&app, "k-3", ADMIN_USER, "plans/create", &[("name", "V2"), ("validation", "1")]).await.expect("201");
        keyed(&app, "k-3", ADMIN_USER, "plans/list", &[]).await.expect("200");
        keyed(&app, "k-3", ADMIN_USER, "plans/create", &[("name", "Real")]).await.expect("200");
        let bad = app.client.post(app.url("plans/create")).header("Idempotency-Key", "has space")
            .form(&[("auth_username", ADMIN), ("auth_password", ADMIN_PASSWORD), ("name", "x")]).send().await.unwrap();
        Answer::from(bad).await.expect_invalid(&["Idempotency-Key"]);
    }

    async fn a_retry_while_the_first_runs_waits_for_its_answer(backend) {
        let app = TestApp::spawn(backend).await;
        app.admin("classes/create", &[("name", "c")]).await.expect("200");
        app.admin("ingroups/create", &[("name", "i")]).await.expect("200");
        let range = [("start", "4000000"), ("end", "4999999"), ("class", "1"), ("ingroup", "1")];
        let first = keyed(&app, "import-1", ADMIN_USER, "numbers/system/create", &range);
        let retry = async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            keyed(&app, "import-1", ADMIN_USER, "numbers/system/create", &range).await
        };
        let (first, retry) = tokio::join!(first, retry);
        assert_eq!(first.expect("200").data()["count"], 1_000_000);
        assert_eq!(retry.body, first.body, "the retry waited for the first answer");
        assert_eq!(app.scalar_i64("SELECT COUNT(DISTINCT batch) FROM numbers").await, 1);
    }

    async fn every_process_honours_a_key(backend) {
        let one = TestApp::spawn(backend).await;
        let two = TestApp::spawn_with(backend, |s| s.database_url = one.db.url.clone()).await;
        let first = keyed(&one, "shared-key", ADMIN_USER, "roles/create", &[("name", "Everywhere")]).await;
        let again = keyed(&two, "shared-key", ADMIN_USER, "roles/create", &[("name", "Everywhere")]).await;
        assert_eq!(first.expect("200").body, again.body);
        assert_eq!(one.scalar_i64("SELECT COUNT(*) FROM roles WHERE name = 'Everywhere'").await, 1);
    }
}
