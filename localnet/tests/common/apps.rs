//! The example ABCI applications (`localnet/examples/`) as child processes, for the tests
//! that drive them directly (`example_apps.rs`) and through a localnet (`abci_e2e.rs`).

use base64::Engine as _;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long an app may take to start and report its address.
const START_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Example {
    /// `kvstore-py/kvstore.py`.
    KvstorePy,
    /// `counter-js/counter.mjs`.
    CounterJs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Unix,
}

impl Example {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Example::KvstorePy => "kvstore-py",
            Example::CounterJs => "counter-js",
        }
    }

    pub(crate) fn interpreter(self) -> &'static str {
        match self {
            Example::KvstorePy => "python3",
            Example::CounterJs => "node",
        }
    }

    pub(crate) fn script(self) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        match self {
            Example::KvstorePy => dir.join("kvstore-py/kvstore.py"),
            Example::CounterJs => dir.join("counter-js/counter.mjs"),
        }
    }

    /// Fails the test, saying why, when the interpreter is missing or too old.
    pub(crate) fn require_interpreter(self) {
        let interp = self.interpreter();
        let out = Command::new(interp)
            .arg("--version")
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "`{interp}` is needed to run the {} example app ({e}); install it (CI has \
                 Python 3.11 and Node.js >= 18)",
                    self.name()
                )
            });
        let version = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // "Python 3.11.7" / "v20.20.2": the major and minor numbers.
        let numbers: Vec<u32> = version
            .trim()
            .trim_start_matches("Python ")
            .trim_start_matches('v')
            .split('.')
            .take(2)
            .map(|n| n.parse().unwrap_or(0))
            .collect();
        let ok = match self {
            Example::KvstorePy => numbers.as_slice() >= [3, 8].as_slice(),
            Example::CounterJs => numbers.first().copied().unwrap_or(0) >= 18,
        };
        assert!(
            out.status.success() && ok,
            "`{interp} --version` says {version:?}: the {} example needs Python >= 3.8 / \
             Node.js >= 18",
            self.name()
        );
    }
}

/// An example app running as a child process; killed (SIGKILL, a crash) on drop. Its stderr
/// goes to `<home>.log`, printed when the test fails.
pub(crate) struct AppProcess {
    child: Child,
    pub(crate) address: String,
    log: PathBuf,
}

impl AppProcess {
    /// Starts `example` on `listen` (`tcp://127.0.0.1:0` for any free port, or
    /// `unix://PATH`) with its state in `home`, and waits for the line reporting where it
    /// listens.
    pub(crate) fn start(example: Example, home: &Path, listen: &str) -> AppProcess {
        AppProcess::start_with(example, home, listen, &[])
    }

    /// [`AppProcess::start`] with extra command-line arguments.
    pub(crate) fn start_with(
        example: Example,
        home: &Path,
        listen: &str,
        extra: &[&str],
    ) -> AppProcess {
        example.require_interpreter();
        let log = home.with_extension("log");
        let log_file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut cmd = Command::new(example.interpreter());
        cmd.arg(example.script())
            .args(["--address", listen, "--home"])
            .arg(home);
        // The Python app refuses any request missing a field CometBFT v0.38 always sets.
        if example == Example::KvstorePy {
            cmd.arg("--strict");
        }
        cmd.args(extra);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", example.name()));
        let mut app = AppProcess {
            child,
            address: String::new(),
            log,
        };
        let stdout = app.child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Keep the pipe drained.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(START_LIMIT) {
            Ok(Some(Ok(line))) => line,
            other => panic!(
                "{} did not report its address within {START_LIMIT:?}: {other:?}",
                example.name()
            ),
        };
        let (_, address) = line
            .split_once(" listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from {}: {line:?}", example.name()));
        app.address = address.trim().to_owned();
        app
    }
}

impl AppProcess {
    /// Where the app's stderr goes.
    pub(crate) fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- app log {} ---\n{log}", self.log.display());
        }
    }
}

/// The validator-update tx both apps take.
pub(crate) fn val_tx(pubkey: [u8; 32], power: i64) -> Vec<u8> {
    format!(
        "val:{}!{power}",
        base64::engine::general_purpose::STANDARD.encode(pubkey)
    )
    .into_bytes()
}

/// A counter tx: the value as 8 bytes, big-endian.
pub(crate) fn count_tx(n: u64) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}
