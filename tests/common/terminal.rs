//! racecount on a pseudo-terminal, as a person runs it: nix's openpty (already a dependency: no
//! pty crate, and no reliance on script(1) being installed), so stdout and stderr are a terminal.

use super::MARKER;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use nix::pty::{Winsize, openpty};

/// racecount on a fresh 80 x 24 pseudo-terminal (stdout and stderr), and everything it wrote
/// there so far.
pub struct OnTerminal {
    pub child: std::process::Child,
    seen: Arc<Mutex<Vec<u8>>>,
    /// Set when the terminal has been closed by every process that held it.
    closed: Arc<std::sync::atomic::AtomicBool>,
}

impl OnTerminal {
    pub fn start(line: &str, marker: &str) -> OnTerminal {
        OnTerminal::spawn(&super::args(line), marker)
    }

    /// racecount with `args` (not split again: an argument may hold spaces).
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(args: &[S], marker: &str) -> OnTerminal {
        let size = Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).expect("openpty");
        let slave: OwnedFd = pty.slave;
        let child = Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args(args)
            .env(MARKER, marker)
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("racecount starts");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let closing = Arc::clone(&closed);
        let mut master = std::fs::File::from(pty.master);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once racecount and its workers have closed the terminal.
            while let Ok(n @ 1..) = master.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            closing.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        OnTerminal {
            child,
            seen,
            closed,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `secs` for racecount to end; its exit status and all it wrote. Panics,
    /// with what it wrote so far, when it is still running then.
    pub fn finish(mut self, secs: f64) -> (std::process::ExitStatus, String) {
        assert!(
            super::eventually(secs, || !self.running()),
            "still running after {secs} s: {:?}",
            self.text()
        );
        let status = self.child.wait().unwrap();
        // The reader thread may still be draining the terminal: it ends at EIO, once every
        // process holding the terminal has closed it.
        let closed = Arc::clone(&self.closed);
        assert!(
            super::eventually(super::PATIENCE_SECS, || closed
                .load(std::sync::atomic::Ordering::SeqCst)),
            "the terminal is still open: {:?}",
            self.text()
        );
        (status, self.text())
    }
}

impl Drop for OnTerminal {
    /// A failed test leaves no run behind (its workers die with it: PR_SET_PDEATHSIG).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
