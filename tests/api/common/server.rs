//! The real `switchyard` binary as a child process, for tests that need what
//! only a process has: its log, its exit status, a SIGTERM or a SIGKILL, or a
//! second process on the same database.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::{Answer, TestDb};

pub const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

/// A running `switchyard serve` whose standard error is collected line by line.
pub struct Server {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    pub base: String,
}

/// `switchyard serve` on `db`, on a free port, with `envs`, its output piped.
pub fn serve_command(db: &TestDb, envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &db.url])
        .current_dir(db.dir.path())
        .env_remove("SWITCHYARD_ADMIN_PASSWORD")
        .env("SWITCHYARD_ADMIN_PASSWORD_FILE", db.dir.path().join("admin-password.txt"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    command
}

impl Server {
    pub fn start(db: &TestDb, envs: &[(&str, &str)]) -> Self {
        let mut child = serve_command(db, envs).spawn().expect("the binary starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            let found = lines.lock().unwrap().iter().find_map(|l| {
                let at = l.find("listening").and(l.find("127.0.0.1:"))?;
                Some(l[at..].chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':').collect::<String>())
            });
            if let Some(addr) = found {
                break addr;
            }
            assert!(Instant::now() < deadline, "no 'listening' line: {:?}", lines.lock().unwrap());
            if let Ok(Some(status)) = child.try_wait() {
                // The reader threads may still be draining what it wrote before exiting.
                std::thread::sleep(Duration::from_millis(100));
                panic!("exited early with {status}: {:?}", lines.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Self { child, lines, base: format!("http://{addr}") }
    }

    /// `host:port`, for a raw TCP connection.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Every line written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    pub async fn get(&self, call: &str, query: &str) -> Answer {
        Answer::from(reqwest::get(format!("{}/api/json/{call}?{query}", self.base)).await.unwrap()).await
    }

    /// SIGTERM, then the exit status and every line written.
    pub fn stop(mut self) -> (std::process::ExitStatus, Vec<String>) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let lines = self.lines();
        (status, lines)
    }

    /// Sends a signal (`STOP`, `CONT`, ...) and leaves the process be: a
    /// stopped process is alive, only not running, as in a long pause.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -{name} failed");
    }

    /// SIGKILL: the process ends at once, with no chance to finish or clean up.
    pub fn kill(mut self) -> Vec<String> {
        self.child.kill().expect("SIGKILL is delivered");
        self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        self.lines()
    }

    /// A call with `;`-separated parameters as the given person.
    pub async fn call(&self, user: (&str, &str), call: &str, params: &[(&str, &str)]) -> Answer {
        self.send(None, user, call, params).await
    }

    /// A call sent with an `Idempotency-Key` header.
    pub async fn keyed(&self, key: &str, user: (&str, &str), call: &str, params: &[(&str, &str)]) -> Answer {
        self.send(Some(key), user, call, params).await
    }

    async fn send(&self, key: Option<&str>, user: (&str, &str), call: &str, params: &[(&str, &str)]) -> Answer {
        let mut pairs = vec![("auth_username", user.0), ("auth_password", user.1)];
        pairs.extend_from_slice(params);
        let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
        let mut request = client.post(format!("{}/api/json/{call}", self.base)).form(&pairs);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        Answer::from(request.send().await.unwrap()).await
    }
}

impl Drop for Server {
    // A test that fails before `stop` must not leave its server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Counts rows in the database behind `db` with a connection of its own.
pub async fn count_rows(db: &TestDb, sql: &str) -> i64 {
    let settings = switchyard::settings::Settings { database_url: db.url.clone(), ..Default::default() };
    let store = switchyard::store::Db::connect(&settings).await.unwrap();
    let n = switchyard::on_read!(&store, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap());
    store.close().await;
    n
}

/// Runs the binary to its end in `dir`, with `stdin` as its input: whether it
/// succeeded, and everything it printed.
pub fn run_binary(args: &[&str], dir: &std::path::Path, stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}
