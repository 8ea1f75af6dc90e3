//! Build facts for `keystone version --long`: the git commit (empty outside a checkout), the
//! compiler, and every package in Cargo.lock as `name@version`.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let root = Path::new(&manifest).join("..");
    let git = root.join(".git");
    // Rebuilt when the checkout moves to another commit.
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
        println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
        if let Some(r) = head.trim().strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed={}", git.join(r).display());
            println!(
                "cargo:rerun-if-changed={}",
                git.join("packed-refs").display()
            );
        }
    }
    let commit = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=KEYSTONE_GIT_COMMIT={commit}");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rust = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=KEYSTONE_RUSTC={rust}");
    let lock = root.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let mut deps = Vec::new();
    let mut name = None;
    for line in std::fs::read_to_string(&lock).unwrap_or_default().lines() {
        let value = |l: &str| l.split('"').nth(1).map(str::to_string);
        if line.starts_with("name = ") {
            name = value(line);
        } else if line.starts_with("version = ") {
            if let (Some(n), Some(v)) = (name.take(), value(line)) {
                deps.push(format!("{n}@{v}"));
            }
        }
    }
    let out = std::env::var("OUT_DIR").unwrap_or_default();
    let _ = std::fs::write(Path::new(&out).join("build_deps.txt"), deps.join("\n"));
}
