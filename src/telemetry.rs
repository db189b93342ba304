//! Log output: human-readable on a terminal, or one JSON object per line for a
//! log shipper. Everything goes to standard error.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt};

use crate::settings::{LogFormat, LogSettings};

pub fn init(log: &LogSettings) {
    let filter = EnvFilter::try_new(&log.level).expect("validated at load");
    match log.format {
        LogFormat::Pretty => {
            fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal()).init()
        }
        LogFormat::Json => fmt()
            .json()
            .flatten_event(true)
            // The call's span (call, person, client, request id) on every line
            // logged while the call runs, down to a warning deep in the store.
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
    }
}
