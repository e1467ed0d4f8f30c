//! Python packages from PyPI for tests that check dictaflow with other people's software
//! (the `openai` SDK, the `fhir.resources` FHIR models), each in its own venv under the
//! target directory, made once per test run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// A Python in the venv `name` with `requirement` installed (`import` checks it). `None`
/// (with the reason printed) when Python cannot be set up, unless
/// `DICTAFLOW_TEST_REQUIRE_PYTHON=1`.
pub fn venv_python(name: &str, requirement: &str, import: &str) -> Option<PathBuf> {
    static VENVS: Mutex<Option<HashMap<String, Result<PathBuf, String>>>> = Mutex::new(None);
    let mut slot = VENVS.lock().unwrap_or_else(|e| e.into_inner());
    let result = slot.get_or_insert_with(HashMap::new).entry(name.to_string()).or_insert_with(|| {
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let python = venv.join("bin/python");
        let has = |py: &Path| {
            let code = format!("import {import}");
            Command::new(py).args(["-c", &code]).output().map(|o| o.status.success()).unwrap_or(false)
        };
        if python.is_file() && has(&python) {
            return Ok(python);
        }
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).output();
        match made {
            Ok(o) if o.status.success() => {}
            Ok(o) => return Err(format!("python3 -m venv failed: {}", String::from_utf8_lossy(&o.stderr))),
            Err(e) => return Err(format!("python3 is not available: {e}")),
        }
        let pip = Command::new(&python).args(["-m", "pip", "install", "-q", requirement]).output();
        match pip {
            Ok(o) if o.status.success() && has(&python) => Ok(python),
            Ok(o) => Err(format!("pip install {requirement} failed: {}", String::from_utf8_lossy(&o.stderr))),
            Err(e) => Err(format!("pip did not run: {e}")),
        }
    });
    match result {
        Ok(p) => Some(p.clone()),
        Err(reason) if std::env::var("DICTAFLOW_TEST_REQUIRE_PYTHON").is_ok_and(|v| v == "1") => {
            panic!("the Python package {requirement} is required (DICTAFLOW_TEST_REQUIRE_PYTHON=1): {reason}")
        }
        Err(reason) => {
            eprintln!("skipping: cannot set up the Python package {requirement}: {reason}");
            None
        }
    }
}
