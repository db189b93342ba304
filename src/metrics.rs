//! `/metrics` in the Prometheus text format: calls by name, envelope code and
//! HTTP status, latency histograms by call, calls in flight, numbers added,
//! feature codes created, authentication outcomes, database pool usage and
//! waits, the build and the process's own resources. A handful of counters,
//! gauges and two histogram families are written out by hand rather than
//! through a metrics framework.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use crate::{
    auth::{AuthStats, cache::CredentialCache},
    process_stats,
    store::{Db, pool_wait},
};

/// Upper bounds of the latency buckets, in seconds (a million-number range
/// takes seconds; a cached call, a millisecond or two).
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0];

#[derive(Default)]
struct Histogram {
    /// Observations at or below each bound (not cumulative until rendered).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    calls: Mutex<BTreeMap<(&'static str, u16, u16), u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    pub numbers_added: AtomicU64,
    pub codes_created: AtomicU64,
    /// Trips to the database that wrote usual creates together (group commit).
    pub code_batches: AtomicU64,
}

impl Metrics {
    /// Records one answered call (`call` is "(unknown)" for unknown paths):
    /// its envelope code and the HTTP status it rode on.
    pub fn observe(&self, call: &'static str, code: u16, status: u16, seconds: f64) {
        *self.calls.lock().expect("metrics lock").entry((call, code, status)).or_default() += 1;
        let mut latency = self.latency.lock().expect("metrics lock");
        let histogram = latency.entry(call).or_default();
        if let Some(i) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            histogram.buckets[i] += 1;
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// The text exposition; `in_flight` is the calls running now.
    pub fn render(&self, auth: &AuthStats, cache: &CredentialCache, db: &Db, in_flight: usize) -> String {
        let mut out = String::with_capacity(4096);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        let _ = writeln!(
            out,
            "# HELP switchyard_build_info The running build: always 1, its facts in the labels.\n# TYPE switchyard_build_info gauge\n\
             switchyard_build_info{{version=\"{}\",profile=\"{}\",database=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            if cfg!(debug_assertions) { "debug" } else { "release" },
            db.kind(),
        );
        out.push_str(
            "# HELP switchyard_calls_total Calls answered, by call, envelope code and HTTP status (they differ: by default a 4xx envelope rides on HTTP 200).\n",
        );
        out.push_str("# TYPE switchyard_calls_total counter\n");
        for ((call, code, status), n) in self.calls.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "switchyard_calls_total{{call=\"{call}\",code=\"{code}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP switchyard_call_duration_seconds Time to answer a call, by call.\n");
        out.push_str("# TYPE switchyard_call_duration_seconds histogram\n");
        for (call, h) in self.latency.lock().expect("metrics lock").iter() {
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "switchyard_call_duration_seconds_bucket{{call=\"{call}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(out, "switchyard_call_duration_seconds_bucket{{call=\"{call}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "switchyard_call_duration_seconds_sum{{call=\"{call}\"}} {}", h.sum);
            let _ = writeln!(out, "switchyard_call_duration_seconds_count{{call=\"{call}\"}} {}", h.count);
        }
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        counter(
            &mut out,
            "switchyard_numbers_added_total",
            "Numbers added to the inventory.",
            load(&self.numbers_added),
        );
        counter(&mut out, "switchyard_codes_created_total", "Feature codes created.", load(&self.codes_created));
        counter(
            &mut out,
            "switchyard_code_batches_total",
            "Trips to the database that wrote usual codes/create calls together; codes created over trips is the batch size.",
            load(&self.code_batches),
        );
        counter(&mut out, "switchyard_auth_failures_total", "Failed password checks.", load(&auth.failures));
        counter(
            &mut out,
            "switchyard_auth_throttled_total",
            "Attempts refused unchecked by throttling.",
            load(&auth.throttled),
        );
        counter(&mut out, "switchyard_auth_cache_hits_total", "Credential cache hits.", load(&auth.cache_hits));
        counter(&mut out, "switchyard_auth_cache_misses_total", "Credential cache misses.", load(&auth.cache_misses));
        let gauge = |out: &mut String, name: &str, help: &str, value: usize| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };
        gauge(&mut out, "switchyard_calls_in_flight", "Calls being answered now.", in_flight);
        gauge(&mut out, "switchyard_auth_cache_entries", "Logins the credential cache holds.", cache.len());
        gauge(
            &mut out,
            "switchyard_auth_cache_announced",
            "1 while this process hears PostgreSQL's announcements of changed logins and trusts its cache on them; 0 while every call reads its login.",
            usize::from(cache.announced()),
        );
        out.push_str("# HELP switchyard_db_connections Database pool connections, by pool and state.\n");
        out.push_str("# TYPE switchyard_db_connections gauge\n");
        let pools: Vec<(&str, u32, usize)> = match db {
            Db::Sqlite(lite) => vec![
                ("sqlite_read", lite.read.size(), lite.read.num_idle()),
                ("sqlite_write", lite.write.size(), lite.write.num_idle()),
            ],
            Db::Postgres(pool) => vec![("postgres", pool.size(), pool.num_idle())],
        };
        for (pool, size, idle) in pools {
            let busy = (size as usize).saturating_sub(idle);
            let _ = writeln!(out, "switchyard_db_connections{{pool=\"{pool}\",state=\"busy\"}} {busy}");
            let _ = writeln!(out, "switchyard_db_connections{{pool=\"{pool}\",state=\"idle\"}} {idle}");
        }
        render_pool_waits(&mut out);
        render_process(&mut out);
        out
    }
}

fn render_pool_waits(out: &mut String) {
    let waits = pool_wait::waits();
    out.push_str(
        "# HELP switchyard_db_pool_wait_seconds Time spent waiting for a database connection where Switchyard takes one itself: write transactions, code creates, imports, lists and streams.\n",
    );
    out.push_str("# TYPE switchyard_db_pool_wait_seconds histogram\n");
    for (bound, n) in pool_wait::BOUNDS.iter().zip(waits.cumulative) {
        let _ = writeln!(out, "switchyard_db_pool_wait_seconds_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "switchyard_db_pool_wait_seconds_bucket{{le=\"+Inf\"}} {}", waits.count);
    let _ = writeln!(out, "switchyard_db_pool_wait_seconds_sum {}", waits.sum_seconds);
    let _ = writeln!(out, "switchyard_db_pool_wait_seconds_count {}", waits.count);
}

fn render_process(out: &mut String) {
    let Some(stats) = process_stats::read() else { return };
    let mut family = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    };
    family(
        "process_cpu_seconds_total",
        "counter",
        "User and system CPU time spent, in seconds.",
        stats.cpu_seconds.to_string(),
    );
    family(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        stats.resident_bytes.to_string(),
    );
    family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", stats.virtual_bytes.to_string());
    family(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since the Unix epoch, in seconds.",
        stats.start_time_seconds.to_string(),
    );
    family("process_open_fds", "gauge", "Open file descriptors.", stats.open_fds.to_string());
    if let Some(max) = stats.max_fds {
        family("process_max_fds", "gauge", "The limit on open file descriptors.", max.to_string());
    }
}
