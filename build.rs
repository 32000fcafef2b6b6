//! Builds the dashboard (web/) with npm when its sources changed, so the
//! binary always embeds the dashboard of the sources it was built from.
//!
//! A stamp (a hash of every input file) is written to web/.dist-stamp; when it
//! matches, nothing runs. `TACTICAL_LINK_SKIP_WEB_BUILD=1` embeds a page that
//! says the dashboard is missing instead, for builds without Node.js; it is
//! never silent (a cargo warning and the page itself say so).

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the dashboard is built from (paths under web/): its own sources and
/// those of the two workspace packages it is made of (their dist/ is not
/// read: the build takes their sources).
const INPUTS: &[&str] = &[
    "src",
    "packages/tsconfig.base.json",
    "packages/client/src",
    "packages/client/package.json",
    "packages/client/tsconfig.json",
    "packages/react/src",
    "packages/react/package.json",
    "packages/react/tsconfig.json",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "tsconfig.app.json",
    "tsconfig.node.json",
    "scripts",
];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let web = root.join("web");
    println!("cargo:rerun-if-env-changed=TACTICAL_LINK_SKIP_WEB_BUILD");
    for input in INPUTS {
        println!("cargo:rerun-if-changed=web/{input}");
    }
    if std::env::var("TACTICAL_LINK_SKIP_WEB_BUILD").is_ok_and(|v| v == "1") {
        println!("cargo:warning=TACTICAL_LINK_SKIP_WEB_BUILD=1: the dashboard is NOT embedded");
        let placeholder = root.join("assets/dashboard-missing");
        println!(
            "cargo:rustc-env=TACTICAL_LINK_WEB_DIR={}",
            placeholder.display()
        );
        return;
    }
    let dist = web.join("dist");
    let stamp = input_hash(&web);
    let stamp_file = web.join(".dist-stamp");
    let current = fs::read_to_string(&stamp_file).unwrap_or_default();
    if current.trim() != stamp || !dist.join("index.html").exists() {
        if !web.join("node_modules").exists() {
            npm(&web, &["ci", "--no-audit", "--no-fund"]);
        }
        npm(&web, &["run", "build"]);
        fs::write(&stamp_file, &stamp).expect("write web/.dist-stamp");
    }
    println!("cargo:rustc-env=TACTICAL_LINK_WEB_DIR={}", dist.display());
}

fn npm(dir: &Path, args: &[&str]) {
    let status = Command::new("npm").args(args).current_dir(dir).status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => panic!(
            "`npm {}` in web/ failed ({status}); the dashboard cannot be built. \
             Fix the error above, or build with TACTICAL_LINK_SKIP_WEB_BUILD=1 for a binary without it.",
            args.join(" ")
        ),
        Err(err) => panic!(
            "cannot run npm ({err}): Node.js and npm are needed to build the dashboard. \
             Install them (Debian: apt-get install nodejs npm), or build with \
             TACTICAL_LINK_SKIP_WEB_BUILD=1 for a binary without the dashboard."
        ),
    }
}

fn input_hash(web: &Path) -> String {
    let mut files = Vec::new();
    for input in INPUTS {
        collect(&web.join(input), &mut files);
    }
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in files {
        file.strip_prefix(web).unwrap_or(&file).hash(&mut hasher);
        fs::read(&file).unwrap_or_default().hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        if let Ok(entries) = fs::read_dir(path) {
            for entry in entries.flatten() {
                collect(&entry.path(), out);
            }
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
}
