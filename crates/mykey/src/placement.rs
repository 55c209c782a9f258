//! Where a benchmark runs what. On a machine with two or more CPUs the servers under test get
//! the upper half of the CPUs this process may use and the load generator (this process) the
//! rest, so neither preempts the other and a server's CPU time is its own work: on shared cores
//! every preemption by the load generator is a context switch charged to the server. Children
//! inherit the CPU set of the thread that starts them, so a server is started from a thread
//! pinned to the servers' CPUs and is pinned before it runs a single instruction of its own.

use std::process::{Child, Command};

use rustix::process::Pid;
use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};
use serde_json::{Value, json};

/// `--placement` of the benchmarks: `shared`, where the scheduler puts them; `split`, the
/// servers on the upper half of the CPUs and the load generator on the rest, so neither
/// preempts the other (one CPU: shared).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum PlacementArg {
    Shared,
    Split,
}

impl PlacementArg {
    /// The placement, pinning this process when split.
    pub(crate) fn place(self) -> Result<Placement, String> {
        match self {
            Self::Split => Placement::split(),
            Self::Shared => Ok(Placement::shared()),
        }
    }
}

/// The CPUs the servers and the load generator run on (`None`: shared, as the scheduler likes).
#[derive(Clone, Debug)]
pub(crate) struct Placement(Option<(Vec<usize>, Vec<usize>)>);

impl Placement {
    /// Shared cores: everything where the scheduler puts it.
    pub(crate) fn shared() -> Self {
        Self(None)
    }

    /// The servers on the upper half of the CPUs allowed, the load generator on the rest; shared
    /// when only one CPU is allowed. Pins every thread of this process to the load generator's
    /// CPUs (threads started later inherit that).
    pub(crate) fn split() -> Result<Self, String> {
        let allowed = sched_getaffinity(None).map_err(|e| format!("sched_getaffinity: {e}"))?;
        let cpus: Vec<usize> = (0..CpuSet::MAX_CPU)
            .filter(|&c| allowed.is_set(c))
            .collect();
        if cpus.len() < 2 {
            return Ok(Self::shared());
        }
        let (load, servers) = cpus.split_at(cpus.len() / 2);
        let placement = Self(Some((servers.to_vec(), load.to_vec())));
        pin_process(&set_of(load))?;
        Ok(placement)
    }

    /// Starts `command` on the servers' CPUs.
    pub(crate) fn spawn(&self, command: &mut Command) -> std::io::Result<Child> {
        match &self.0 {
            None => command.spawn(),
            Some((servers, _)) => {
                let set = set_of(servers);
                std::thread::scope(|s| {
                    s.spawn(|| {
                        sched_setaffinity(None, &set)?;
                        command.spawn()
                    })
                    .join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("the spawning thread panicked")))
                })
            }
        }
    }

    /// Runs `f` on a thread on the servers' CPUs (so a reference figure is taken where the
    /// servers run).
    pub(crate) fn on_servers<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let Some((servers, _)) = &self.0 else {
            return f();
        };
        let set = set_of(servers);
        std::thread::scope(|s| {
            s.spawn(|| {
                // Unpinned, the figure is only less exact; it is still taken.
                let _ = sched_setaffinity(None, &set);
                f()
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    /// For the report: `"shared"`, or which CPUs each side had.
    pub(crate) fn describe(&self) -> Value {
        match &self.0 {
            None => json!("shared"),
            Some((servers, load)) => json!({"servers": servers, "load_generator": load}),
        }
    }
}

fn set_of(cpus: &[usize]) -> CpuSet {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c);
    }
    set
}

/// Pins every thread this process has now.
fn pin_process(set: &CpuSet) -> Result<(), String> {
    let tasks =
        std::fs::read_dir("/proc/self/task").map_err(|e| format!("/proc/self/task: {e}"))?;
    for task in tasks.flatten() {
        let tid = task.file_name().to_str().and_then(|t| t.parse().ok());
        if let Some(pid) = tid.and_then(Pid::from_raw) {
            // A thread that ended since the listing is no longer ours to pin.
            match sched_setaffinity(Some(pid), set) {
                Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                Err(e) => return Err(format!("sched_setaffinity: {e}")),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_keeps_servers_and_load_apart_and_children_inherit_the_servers_cpus() {
        let allowed = sched_getaffinity(None).unwrap();
        let p = Placement::split().unwrap();
        let Some((servers, load)) = p.0.clone() else {
            assert!(
                allowed.count() < 2,
                "split must not fall back with {} CPUs",
                allowed.count()
            );
            return;
        };
        assert!(!servers.is_empty() && !load.is_empty());
        assert!(servers.iter().all(|c| !load.contains(c)));
        let here = sched_getaffinity(None).unwrap();
        assert!(load.iter().all(|&c| here.is_set(c)));
        assert!(servers.iter().all(|&c| !here.is_set(c)));
        // A child started through the placement runs on the servers' CPUs only.
        let out = p
            .spawn(
                Command::new("grep")
                    .args(["Cpus_allowed_list", "/proc/self/status"])
                    .stdout(std::process::Stdio::piped()),
            )
            .unwrap()
            .wait_with_output()
            .unwrap();
        let list = String::from_utf8(out.stdout).unwrap();
        let expected: Vec<String> = servers.iter().map(|c| c.to_string()).collect();
        let got = list.split(':').nth(1).unwrap().trim();
        assert!(
            got == expected.join(",")
                || got == format!("{}-{}", servers[0], servers[servers.len() - 1]),
            "child CPUs {got:?}, servers {servers:?}"
        );
        assert!(p.on_servers(|| sched_getaffinity(None).unwrap().is_set(servers[0])));
        // The test process must not stay pinned for the tests after it.
        pin_process(&allowed).unwrap();
    }
}
