//! What the machine and the benchmark's own process say about resources:
//! CPU time of every core (busy, and in interrupts), the load average,
//! kernel TCP buffer memory, this process's CPU time, and its open-file
//! limit. A server's own
//! memory and CPU come from [`testkit::procstat`].

use testkit::procstat;

/// CPU time the machine's cores have spent so far, in seconds: busy (all
/// but idle and iowait), and of that in interrupts (irq + softirq, where
/// loopback TCP is processed; no process is charged for it).
pub fn machine_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let (busy, irq) = parse_machine(&stat)?;
    let ticks = procstat::clock_ticks();
    Some((busy as f64 / ticks, irq as f64 / ticks))
}

fn parse_machine(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest is in user).
    let total: u64 = fields.iter().take(8).sum();
    let busy = total - fields.get(3)? - fields.get(4).copied().unwrap_or(0);
    Some((busy, fields.get(5)? + fields.get(6)?))
}

/// The machine's load averages over 1, 5 and 15 minutes (/proc/loadavg):
/// how much else wanted the cores around a run, on a shared machine.
pub fn load_average() -> Option<[f64; 3]> {
    parse_load_average(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

fn parse_load_average(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(|f| f.parse().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// Memory the kernel holds in TCP socket buffers, machine-wide, in KiB
/// (`TCP: … mem N` of /proc/net/sockstat, in pages): what slow readers
/// park outside every process's RSS.
pub fn tcp_mem_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/sockstat").ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    parse_tcp_mem_pages(&text).map(|pages| pages * page / 1024)
}

fn parse_tcp_mem_pages(sockstat: &str) -> Option<u64> {
    let line = sockstat.lines().find(|l| l.starts_with("TCP:"))?;
    let mut words = line.split_whitespace();
    words.find(|w| *w == "mem")?;
    words.next()?.parse().ok()
}

/// CPU time (user + system) this process has used so far, in seconds.
pub fn self_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct we own.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Raises the open-file soft limit to the hard limit; returns the new soft
/// limit.
pub fn raise_nofile_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_machine_from_proc_text() {
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n";
        assert_eq!(parse_machine(stat), Some((161, 3)));
        let sockstat = "sockets: used 300\nTCP: inuse 20 orphan 0 tw 3 alloc 25 mem 1234\nUDP: inuse 1 mem 2\n";
        assert_eq!(parse_tcp_mem_pages(sockstat), Some(1234));
        assert_eq!(
            parse_load_average("5.92 5.77 7.75 3/1012 31877\n"),
            Some([5.92, 5.77, 7.75])
        );
        assert_eq!(parse_load_average("5.92 x 7.75"), None);
    }

    #[test]
    fn reads_this_process_and_machine() {
        assert!(self_cpu_seconds() >= 0.0);
        assert!(raise_nofile_limit() > 0);
        assert!(machine_seconds().is_some());
        assert!(load_average().is_some_and(|l| l.iter().all(|v| *v >= 0.0)));
    }
}
