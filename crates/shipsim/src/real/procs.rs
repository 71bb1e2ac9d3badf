//! The node processes of a real run: each in a process group of its own, killed with its
//! whole group when its handle drops (normal end, violation, error, Ctrl-C, a panicking
//! harness unwinding), and sent SIGKILL by the kernel if the harness itself dies
//! (`PR_SET_PDEATHSIG`).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One node process life.
pub(crate) struct NodeProc {
    pub node: String,
    pub life: u32,
    child: Child,
    stderr: PathBuf,
}

impl NodeProc {
    /// Starts `exe node ARGS` with its stderr in `stderr`.
    pub(crate) fn spawn(
        exe: &Path,
        args: &[String],
        node: &str,
        life: u32,
        stderr: PathBuf,
    ) -> std::io::Result<NodeProc> {
        let mut command = Command::new(exe);
        command.arg("node").args(args);
        NodeProc::start(command, node, life, stderr)
    }

    /// Starts `command` as the process of `node`'s life `life` (the NATS broker's too), in a
    /// process group of its own, its stdout and stderr in `stderr`.
    pub(crate) fn start(
        mut command: Command,
        node: &str,
        life: u32,
        stderr: PathBuf,
    ) -> std::io::Result<NodeProc> {
        let err = File::create(&stderr)?;
        command.stdin(Stdio::null()).stdout(err.try_clone()?).stderr(err).process_group(0);
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to SIGKILL this child
        // when the thread that started it (the harness's main thread) ends.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn()?;
        Ok(NodeProc { node: node.to_owned(), life, child, stderr })
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(0)
    }

    /// Sends `signal` to the process's group.
    pub(crate) fn signal(&self, signal: i32) {
        let pid = self.pid();
        if pid > 0 {
            // SAFETY: a plain syscall on the group we created (its leader is our child, not
            // yet reaped, so the id cannot have been reused).
            unsafe { libc::killpg(pid, signal) };
        }
    }

    /// Whether it exited, and how.
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL to the group, then waits up to `within` for the process to be gone.
    pub(crate) fn kill(&mut self, within: Duration) -> Result<(), String> {
        self.signal(libc::SIGKILL);
        let started = Instant::now(); // allow-nondeterminism: real mode, waiting for an OS process
        while started.elapsed() < within {
            if self.exited().is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Err(format!(
            "node {} life {} did not die within {within:?} of SIGKILL{}",
            self.node,
            self.life,
            self.tail()
        ))
    }

    /// The last lines of its stderr, for an error message.
    pub(crate) fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let last = &lines[lines.len().saturating_sub(10)..];
        if last.is_empty() {
            "; its stderr is empty".to_owned()
        } else {
            format!("; the last lines of its stderr:\n    {}", last.join("\n    "))
        }
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if self.exited().is_none() {
            self.signal(libc::SIGKILL);
            // SIGCONT too: a stopped process dies of SIGKILL anyway, this only makes sure.
            self.signal(libc::SIGCONT);
            let _ = self.child.wait();
        }
    }
}
