//! The standard-library Python client in `examples/portal.py` runs the
//! README's billing-portal flow against a fresh server, in both HTTP status
//! modes (in `mirror` mode its refusals arrive as HTTP errors).

use crate::{both_databases, common::*};
use switchyard::settings::HttpStatusMode;

both_databases! {
    async fn the_python_example_runs_the_portal_flow(backend) {
        let Some(python) = required_tool("python3", "apt-get install python3") else { return };
        for mode in [HttpStatusMode::Enswitch, HttpStatusMode::Mirror] {
            let app = TestApp::spawn_with(backend, |s| s.http_status = mode).await;
            let (python, base) = (python.clone(), app.base.clone());
            let output = tokio::task::spawn_blocking(move || {
                std::process::Command::new(python)
                    .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portal.py"))
                    .args(["--url", &base, "--username", ADMIN])
                    .env("SWITCHYARD_PASSWORD", ADMIN_PASSWORD)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{mode:?}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
            assert!(stdout.ends_with("portal flow: ok\n"), "{stdout}");
            // What the client saw is what the server holds.
            let balance = app.admin("customers/balance/get", &[("customer", "2")]).await;
            balance.expect("200");
            assert_eq!(balance.data()["balance"], "7.0000");
            let held = app.admin("numbers/list", &[("customer", "2")]).await;
            held.expect("200");
            assert_eq!(held.data().as_array().unwrap().len(), 1, "{:?}", held.body);
            // Each writing call was acted on once, under its own key.
            let keys = app.scalar_i64("SELECT COUNT(*) FROM idempotency_keys").await;
            assert!(keys >= 15, "{keys} keyed calls");
        }
    }
}
