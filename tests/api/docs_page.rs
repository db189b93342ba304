//! `/api/docs` as a reader uses it: its examples, run from the top of the page
//! on a new server, all succeed; its forms, driven in a real headless Chromium
//! through WebDriver, send calls with the reader's credentials and show the
//! answers as text.

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

use crate::{
    both_databases,
    common::{ADMIN, ADMIN_PASSWORD, Backend, TestApp},
};

/// Undoes `docs_page::escape`.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#x27;", "'").replace("&amp;", "&")
}

/// Every `<pre class="example">` of the page, in page order, unescaped.
fn examples(html: &str) -> Vec<String> {
    html.split("<pre class=\"example\">")
        .skip(1)
        .map(|rest| unescape(rest.split_once("</pre>").expect("a closed example").0))
        .collect()
}

async fn page(app: &TestApp) -> String {
    let response = app.client.get(format!("{}/api/docs", app.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.unwrap()
}

both_databases! {
    async fn docs_page_examples_succeed_in_page_order(backend) {
        let app = TestApp::spawn(backend).await;
        let html = page(&app).await;
        let examples = examples(&html);
        assert_eq!(examples.len(), app.state.calls.all().len(), "one example per call");
        let mut failures = Vec::new();
        for example in &examples {
            // "curl 'http://127.0.0.1:8080/api/json/<call>/?k=v;k=v'"
            let url = example
                .strip_prefix("curl '")
                .and_then(|rest| rest.strip_suffix('\''))
                .unwrap_or_else(|| panic!("not a curl example: {example}"));
            let path = url.strip_prefix("http://127.0.0.1:8080").unwrap_or_else(|| panic!("another host: {url}"));
            let path = path.replace("auth_username=admin", &format!("auth_username={ADMIN}"));
            let path = path.replace("auth_password=PASSWORD", &format!("auth_password={ADMIN_PASSWORD}"));
            let response = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
            let body: Value = response.json().await.unwrap();
            let code = body["responses"][0]["code"].as_str().unwrap_or("none").to_string();
            if code != "200" && code != "204" {
                failures.push(format!("{example} answered {body}"));
            }
        }
        assert!(failures.is_empty(), "examples that failed in page order:\n{}", failures.join("\n"));
        // The deletes at the foot of the page removed what the examples made.
        let left = app.admin("numbers/system/list", &[("count", "1")]).await;
        assert_eq!(left.data()["count"], 0, "{}", left.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_redirects_to_the_docs_page_which_keeps_credentials_out_of_links() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = client.get(format!("{}/", app.base)).send().await.unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers()["location"], "/api/docs");
    let posted = crate::common::Answer::from(client.post(format!("{}/", app.base)).send().await.unwrap()).await;
    assert_eq!((posted.status, posted.code()), (404, "404"), "only GET redirects: {}", posted.body);

    let response = app.client.get(format!("{}/api/docs", app.base)).send().await.unwrap();
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'sha256-"), "{policy}");
    let html = response.text().await.unwrap();
    // Links, form targets and sources never carry credentials; only the
    // curl examples (text to copy) name auth_password.
    for attribute in ["href=\"", "action=\"", "src=\""] {
        for value in html.split(attribute).skip(1).map(|rest| rest.split('"').next().unwrap()) {
            assert!(!value.contains("auth_"), "{attribute}{value}");
        }
    }
    assert!(!html.contains("localStorage") && !html.contains("sessionStorage"), "credentials stored");
    assert_eq!(html.matches("<form class=\"try\"").count(), app.state.calls.all().len(), "one form per call");
    // The credential fields have no name, so no form can ever submit them.
    let credentials = html.split_once("<div id=\"credentials\">").unwrap().1.split_once("</div>").unwrap().0;
    assert!(!credentials.contains("name=") && !credentials.contains("<form"), "{credentials}");
}

// ---- The browser test -------------------------------------------------------

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and its browser session, ended when dropped (also
/// when the test panics), so that no browser outlives the test.
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Closing the session first lets chromedriver stop its Chromium; the
        // test's runtime cannot be blocked on, so this speaks HTTP by hand.
        let session = self.session.take();
        let stream = session.as_ref().and_then(|_| TcpStream::connect(("127.0.0.1", self.port)).ok());
        if let (Some(session), Some(mut stream)) = (session, stream) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!("DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(profile: &std::path::Path) -> Self {
        // A free port: bound, read and released (chromedriver cannot take port 0).
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(CHROMEDRIVER)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut driver = Self { child, port, session: None, http: reqwest::Client::new() };
        let mut ready = false;
        for _ in 0..100 {
            let status = match driver.http.get(format!("http://127.0.0.1:{port}/status")).send().await {
                Ok(response) => response.json::<Value>().await.unwrap_or_default(),
                Err(_) => Value::Null,
            };
            if status["value"]["ready"] == true {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not become ready on port {port}");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1024",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        } } });
        let session = driver.send("POST", "/session", Some(capabilities)).await;
        driver.session = Some(session["sessionId"].as_str().expect("a session").to_string());
        driver
    }

    /// One WebDriver command; answers its `value`, panicking on a WebDriver error.
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = match &self.session {
            Some(session) => format!("/session/{session}{path}"),
            None => path.to_string(),
        };
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let request = match method {
            "GET" => self.http.get(url),
            "POST" => self.http.post(url).json(&body.unwrap_or_else(|| json!({}))),
            other => panic!("{other}"),
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert!(status.is_success(), "WebDriver {method} {path}: {answer}");
        answer["value"].clone()
    }

    async fn find(&self, css: &str) -> String {
        let found = self.send("POST", "/element", Some(json!({ "using": "css selector", "value": css }))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string()
    }

    async fn script(&self, script: &str, args: Value) -> Value {
        self.send("POST", "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.send("POST", &format!("/element/{element}/clear"), None).await;
        self.send("POST", &format!("/element/{element}/value"), Some(json!({ "text": text }))).await;
    }

    /// Fills a call's field as a reader would: picks the choice of a
    /// `<select>` (when the document lists allowed values), types otherwise.
    async fn fill(&self, form: &str, name: &str, value: &str) {
        let css = format!("#form-{form} [name=\"{name}\"]");
        let element = self.find(&css).await;
        let tag = self.send("GET", &format!("/element/{element}/name"), None).await;
        if tag == "select" {
            let option = self.find(&format!("{css} option[value=\"{value}\"]")).await;
            self.send("POST", &format!("/element/{option}/click"), None).await;
        } else {
            self.type_into(&css, value).await;
        }
    }

    /// Sends a call's form with the button a reader clicks, and reads the
    /// envelope the page shows under it.
    async fn submit(&self, form: &str, fields: &[(&str, &str)]) -> Value {
        for (name, value) in fields {
            self.fill(form, name, value).await;
        }
        let button = self.find(&format!("#form-{form} button[type=submit]")).await;
        self.send("POST", &format!("/element/{button}/click"), None).await;
        let answer = self.find(&format!("#answer-{form}")).await;
        for _ in 0..300 {
            let state = self.send("GET", &format!("/element/{answer}/attribute/data-state"), None).await;
            if !state.is_null() {
                let text = self.send("GET", &format!("/element/{answer}/text"), None).await;
                let text = text.as_str().unwrap().to_string();
                return serde_json::from_str(&text).unwrap_or_else(|e| panic!("{form}: not JSON ({e}): {text}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let why = self
            .script(
                "var f = document.getElementById('form-' + arguments[0]);\
                 return {valid: f.checkValidity(), answer: document.getElementById('answer-' + arguments[0]).textContent,\
                 messages: Array.prototype.map.call(f.elements, function (e) { return e.name + ': ' + e.validationMessage; })}",
                json!([form]),
            )
            .await;
        panic!("{form}: no answer shown: {why}");
    }
}

fn code(answer: &Value) -> &str {
    answer["responses"][0]["code"].as_str().unwrap_or("none")
}

/// The page's forms in a real browser. SQLite only: what is tested is the
/// page and the browser, and the calls behind it run on both databases in
/// the rest of the suite. CI installs Chromium and chromedriver; elsewhere
/// the test says so and passes when they are missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_forms_in_headless_chromium_via_webdriver() {
    if ![CHROMEDRIVER, CHROMIUM].iter().all(|path| std::path::Path::new(path).exists()) {
        crate::common::missing("Chromium or chromedriver", "apt-get install chromium chromium-driver");
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver::start(profile.path()).await;
    driver.send("POST", "/url", Some(json!({ "url": format!("{}/", app.base) }))).await;
    let title = driver.send("GET", "/title", None).await;
    assert_eq!(title, "Switchyard API reference", "/ leads to the page");

    driver.type_into("#auth-username", ADMIN).await;
    driver.type_into("#auth-password", ADMIN_PASSWORD).await;

    // A name that is markup: the page must show it as text, never run it.
    let hostile = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>";
    let class = driver.submit("classes-create", &[("name", hostile)]).await;
    assert_eq!(code(&class), "200", "{class}");
    let class_id = class["data"]["id"].to_string();
    let shown = driver.submit("classes-get", &[("id", &class_id)]).await;
    assert_eq!(shown["data"]["name"], hostile, "the answer element shows the name as text: {shown}");
    let markup = driver.script("return document.querySelectorAll('pre.answer *').length", json!([])).await;
    assert_eq!(markup, 0, "an answer became markup");
    assert_eq!(driver.send("GET", "/title", None).await, "Switchyard API reference", "injected script ran");

    let ingroup = driver.submit("ingroups-create", &[("name", "Main")]).await;
    assert_eq!(code(&ingroup), "200", "{ingroup}");
    let ingroup_id = ingroup["data"]["id"].to_string();
    let range = [
        ("start", "2125550000"),
        ("end", "2125550999"),
        ("class", class_id.as_str()),
        ("ingroup", ingroup_id.as_str()),
    ];
    let created = driver.submit("numbers-system-create", &range).await;
    assert_eq!(code(&created), "200", "{created}");
    assert_eq!(created["data"]["count"], 1000, "{created}");
    // A `#` must reach the server inside the body, not start a fragment.
    let feature = [("code", "*72#"), ("dtype", "phone"), ("dnumber", "1234567"), ("description", "Forward")];
    let made = driver.submit("codes-create", &feature).await;
    assert_eq!(code(&made), "204", "{made}");

    // What the browser did is what the server holds.
    let numbers = app.admin("numbers/system/list", &[("count", "1"), ("class", &class_id)]).await;
    assert_eq!(numbers.data()["count"], 1000, "{}", numbers.body);
    let last = app.admin("numbers/system/get", &[("number", "2125550999")]).await;
    assert_eq!(last.data()["number"], "2125550999");
    let stored = app.admin("codes/get", &[("code", "*72#")]).await;
    assert_eq!(stored.data()["dnumber"], "1234567", "{}", stored.body);
    assert_eq!(stored.data()["description"], "Forward", "{}", stored.body);

    // The credentials went nowhere but the Authorization header: no request
    // the page made, and no address it shows, carries them; nothing is stored.
    let seen = driver
        .script(
            "return {urls: performance.getEntriesByType('resource').map(function (e) { return e.name; })\
                 .concat([location.href]),\
             stored: localStorage.length + sessionStorage.length, cookies: document.cookie}",
            json!([]),
        )
        .await;
    let urls = seen["urls"].as_array().unwrap();
    assert!(urls.len() >= 6, "the calls are not among the page's requests: {seen}");
    for url in urls {
        let url = url.as_str().unwrap();
        assert!(!url.contains("auth_password") && !url.contains(ADMIN_PASSWORD), "credentials in {url}");
    }
    assert_eq!(seen["stored"], 0, "{seen}");
    assert_eq!(seen["cookies"], "", "{seen}");
    let source = driver.send("GET", "/source", None).await;
    assert!(!source.as_str().unwrap().contains(ADMIN_PASSWORD), "the password is in the page's markup");
    let targets = driver
        .script(
            "return Array.prototype.map.call(document.querySelectorAll('[href],[action],[src]'), function (e) {\
                 return e.getAttribute('href') || e.getAttribute('action') || e.getAttribute('src'); })",
            json!([]),
        )
        .await;
    for target in targets.as_array().unwrap() {
        assert!(!target.as_str().unwrap().contains("auth_"), "a link or form target with credentials: {target}");
    }

    // The screenshot, to look at after the run: the last form and its answer.
    driver.script("document.getElementById('answer-codes-create').scrollIntoView({block: 'end'})", json!([])).await;
    let png = driver.send("GET", "/screenshot", None).await;
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-test");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("docs-page.png");
    std::fs::write(&path, png).unwrap();
    let _ = writeln!(std::io::stderr(), "browser test screenshot: {}", path.display());
}
