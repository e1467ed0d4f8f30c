//! Static keys of a named profile in the AWS shared credentials file
//! (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`; profile `AWS_PROFILE`,
//! else `default`), for hosts configured with `aws configure` rather than variables.

use std::path::PathBuf;

use anyhow::Context;

#[derive(PartialEq, Eq)]
pub(super) struct ProfileKeys {
    pub key_id: String,
    pub secret: String,
    pub token: Option<String>,
}

impl std::fmt::Debug for ProfileKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileKeys").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// The profile's keys, or `None` when there is no file or no such profile with keys.
pub(super) fn credentials() -> anyhow::Result<Option<ProfileKeys>> {
    let path = match std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => PathBuf::from(p),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".aws").join("credentials"),
            None => return Ok(None),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    Ok(parse(&text, &profile))
}

/// Reads `[profile]`'s `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`.
fn parse(text: &str, profile: &str) -> Option<ProfileKeys> {
    let (mut in_profile, mut key_id, mut secret, mut token) = (false, None, None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = name.trim() == profile;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        if !in_profile {
            continue;
        }
        let value = Some(value.trim().to_string());
        match key.trim() {
            "aws_access_key_id" => key_id = value,
            "aws_secret_access_key" => secret = value,
            "aws_session_token" => token = value,
            _ => {}
        }
    }
    Some(ProfileKeys { key_id: key_id?, secret: secret?, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_profile_is_read() {
        let text = "# keys\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n\n\
                    [audio]\naws_access_key_id=AKIAAUDIO\naws_secret_access_key=s2\naws_session_token = t\n\
                    [half]\naws_access_key_id = AKIAHALF\n";
        let d = parse(text, "default").unwrap();
        assert_eq!((d.key_id.as_str(), d.secret.as_str(), d.token), ("AKIADEFAULT", "s1", None));
        let a = parse(text, "audio").unwrap();
        assert_eq!((a.key_id.as_str(), a.secret.as_str(), a.token.as_deref()), ("AKIAAUDIO", "s2", Some("t")));
        assert_eq!(parse(text, "half"), None, "a profile without a secret gives no keys");
        assert_eq!(parse(text, "absent"), None);
        assert!(!format!("{a:?}").contains("s2"), "the secret never prints");
    }
}
