//! The process's own resources for `/metrics`, read from Linux's `/proc`
//! under the names Prometheus's client libraries use (`process_*`), so that
//! existing dashboards and alerts apply. Elsewhere they are simply absent.

use std::fs;

/// Clock ticks per second in `/proc`'s counters: USER_HZ, which Linux fixes
/// at 100 for this interface on every architecture Switchyard ships for.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub start_time_seconds: f64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
}

/// This process's figures now, or `None` where `/proc` cannot be read.
pub fn read() -> Option<ProcessStats> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let boot = fs::read_to_string("/proc/stat").ok()?;
    let mut stats = from_proc(&stat, &status, &boot)?;
    stats.open_fds = fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    stats.max_fds = fs::read_to_string("/proc/self/limits").ok().and_then(|limits| max_open_files(&limits));
    Some(stats)
}

/// CPU time, memory and start time from `/proc/self/stat`,
/// `/proc/self/status` and `/proc/stat` (for the boot time).
fn from_proc(stat: &str, status: &str, boot: &str) -> Option<ProcessStats> {
    // The command name (field 2) may hold spaces and parentheses: fields are
    // counted from the last ')'. Field 3 is then index 0.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let (utime, stime, start_ticks) = (field(14)?, field(15)?, field(22)?);
    let kilobytes = |key: &str| {
        status.lines().find_map(|line| line.strip_prefix(key)?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
    };
    let boot_time = boot.lines().find_map(|line| line.strip_prefix("btime ")?.trim().parse::<u64>().ok())?;
    Some(ProcessStats {
        cpu_seconds: (utime + stime) as f64 / TICKS_PER_SECOND,
        resident_bytes: kilobytes("VmRSS:")? * 1024,
        virtual_bytes: kilobytes("VmSize:")? * 1024,
        start_time_seconds: boot_time as f64 + start_ticks as f64 / TICKS_PER_SECOND,
        open_fds: 0,
        max_fds: None,
    })
}

/// The soft limit on open files, from `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_counted_after_a_command_name_with_spaces() {
        let stat = "4242 (sw (a) b) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 50 0 0 20 0 9 0 123400 1000 50 18446744073709551615";
        let status = "Name:\tswitchyard\nVmSize:\t  204800 kB\nVmRSS:\t   51200 kB\n";
        let stats = from_proc(stat, status, "cpu 1 2 3\nbtime 1700000000\n").unwrap();
        assert_eq!(stats.cpu_seconds, 3.0);
        assert_eq!(stats.resident_bytes, 51200 * 1024);
        assert_eq!(stats.virtual_bytes, 204800 * 1024);
        assert_eq!(stats.start_time_seconds, 1_700_000_000.0 + 1234.0);
    }

    #[test]
    fn this_process_reads_as_itself() {
        let stats = read().expect("Switchyard runs on Linux");
        assert!(stats.resident_bytes > 0 && stats.open_fds > 0);
        assert!(stats.max_fds.is_some_and(|max| max >= stats.open_fds));
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        assert!(stats.start_time_seconds <= now + 1.0 && stats.start_time_seconds > now - 86_400.0 * 365.0);
    }

    #[test]
    fn open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
    }
}
