//! Shared helpers: a scratch folder with the demo config, and running the real binary.

#![allow(dead_code, reason = "each test module uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The demo week's edition file, relative to a scratch folder.
pub const EDITION: &str = "editions/2026-W47.toml";

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary folder holding a copy of `fixtures/demo` (config + sources).
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn empty() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn demo() -> Scratch {
        let s = Scratch::empty();
        copy_dir(&manifest_dir().join("fixtures/demo"), s.path());
        s
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.path().join("feeds.toml")
    }

    pub fn db(&self) -> PathBuf {
        self.path().join("boletin.db")
    }

    /// `items --json` over the whole demo period, with `extra` arguments.
    pub fn items(&self, extra: &[&str]) -> Vec<serde_json::Value> {
        let mut args = vec!["items", "--since", "3650d", "--now", "2026-11-21", "--json"];
        args.extend_from_slice(extra);
        self.run(&args)
            .ok()
            .json()
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The text of `rel` in the scratch folder; panics naming the file.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }

    /// Runs `boletin --config <scratch>/feeds.toml ARGS` in the scratch folder.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = boletin();
        cmd.current_dir(self.path())
            .arg("--config")
            .arg(self.config())
            .args(args);
        Run::from(cmd.output().expect("run boletin"))
    }

    /// Runs `boletin ARGS` with no implicit `--config`.
    pub fn run_bare(&self, args: &[&str]) -> Run {
        let mut cmd = boletin();
        cmd.current_dir(self.path()).args(args);
        Run::from(cmd.output().expect("run boletin"))
    }
}

/// Undoes quoted-printable: soft line breaks and `=XX` escapes; anything else is kept as is.
pub fn qp_decode_bytes(s: &str) -> Vec<u8> {
    let joined = s.replace("=\r\n", "");
    let b = joined.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Debian's Chromium, found on PATH.
pub fn chromium_binary() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = Path::new(dir).join(name);
            if p.exists() {
                return p;
            }
        }
    }
    panic!("Debian `chromium` is needed for this test: run .ci/install (apt-get install chromium)");
}

/// Headless Chromium with the flags this machine needs (no sandbox as root; no background
/// networking, since the network is closed) and a fresh profile in `profile`.
pub fn chromium(binary: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// The real binary with a clean environment (no inherited BOLETIN_* variables).
pub fn boletin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_boletin"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BOLETIN_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("boletin.db") || name == "out" {
            continue;
        }
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}
