//! The caller's credentials, found as the aws CLI finds them: the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) first, else the
//! shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`) and its
//! profile `AWS_PROFILE` (else `default`).
//!
//! Guarantees: pure (the environment and the file system are passed in); `Debug` never shows
//! the secret key or the session token; an error says what to set or where to look, and never
//! quotes a secret.

use std::fmt;
use std::path::PathBuf;

/// A key and, for temporary credentials, its session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Where the credentials came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Environment,
    File { path: PathBuf, profile: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Environment => f.write_str("AWS_ACCESS_KEY_ID in the environment"),
            Source::File { path, profile } => write!(f, "profile `{profile}` of {}", path.display()),
        }
    }
}

/// What to do when there are none: the server writes root's on its first start.
const WHERE_CREDENTIALS_ARE: &str = "set AWS_SHARED_CREDENTIALS_FILE to a credentials file (the server writes \
     root's to DATA_DIR/root-credentials at its first start), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/// Finds the credentials: `lookup` reads an environment variable, `read` a file (`None` when
/// it does not exist).
pub fn find(
    lookup: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&std::path::Path) -> Result<Option<String>, std::io::Error>,
) -> Result<(Credentials, Source), String> {
    let set = |name: &str| lookup(name).filter(|value| !value.is_empty());
    match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret_access_key)) => {
            let session_token = set("AWS_SESSION_TOKEN").or_else(|| set("AWS_SECURITY_TOKEN"));
            return Ok((Credentials { access_key_id, secret_access_key, session_token }, Source::Environment));
        }
        (Some(_), None) => {
            return Err("partial credentials found in the environment, missing: AWS_SECRET_ACCESS_KEY".to_owned());
        }
        (None, Some(_)) => {
            return Err("partial credentials found in the environment, missing: AWS_ACCESS_KEY_ID".to_owned());
        }
        (None, None) => {}
    }
    let path = match set("AWS_SHARED_CREDENTIALS_FILE") {
        Some(path) => expand_home(&path, lookup),
        None => match set("HOME") {
            Some(home) => PathBuf::from(home).join(".aws").join("credentials"),
            None => return Err(format!("unable to locate credentials: {WHERE_CREDENTIALS_ARE}")),
        },
    };
    let explicit_profile = set("AWS_PROFILE").or_else(|| set("AWS_DEFAULT_PROFILE"));
    let profile = explicit_profile.clone().unwrap_or_else(|| "default".to_owned());
    let text = match read(&path) {
        Ok(Some(text)) => text,
        Ok(None) if explicit_profile.is_some() => {
            return Err(format!(
                "the config profile ({profile}) could not be found: {} does not exist",
                path.display()
            ));
        }
        Ok(None) => {
            return Err(format!(
                "unable to locate credentials: no environment variables and no {}; {WHERE_CREDENTIALS_ARE}",
                path.display()
            ));
        }
        Err(error) => return Err(format!("cannot read the credentials file {}: {error}", path.display())),
    };
    match profile_credentials(&text, &profile) {
        Ok(Some(credentials)) => Ok((credentials, Source::File { path, profile })),
        Ok(None) => Err(format!(
            "the config profile ({profile}) could not be found in {}: set AWS_PROFILE to one of its profiles",
            path.display()
        )),
        Err(missing) => Err(format!("profile `{profile}` of {} has no {missing}", path.display())),
    }
}

/// `~/...` with `HOME`, as botocore expands the file's path.
fn expand_home(path: &str, lookup: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    match (path.strip_prefix("~/"), lookup("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The credentials of `profile` in a shared credentials file (INI: `[name]` sections, `key =
/// value` lines, `#` and `;` comments, keys in any case). `Ok(None)`: no such section;
/// `Err(key)`: the section lacks a key it needs.
pub fn profile_credentials(text: &str, profile: &str) -> Result<Option<Credentials>, &'static str> {
    let mut in_profile = false;
    let mut found = false;
    let (mut access_key_id, mut secret_access_key, mut session_token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|rest| rest.split_once(']')).map(|(name, _)| name.trim())
        {
            in_profile = section == profile;
            found |= in_profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        let Some((key, value)) = line.split_once('=').or_else(|| line.split_once(':')) else { continue };
        let value = Some(value.trim().to_owned()).filter(|value| !value.is_empty());
        match key.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => access_key_id = value,
            "aws_secret_access_key" => secret_access_key = value,
            "aws_session_token" => session_token = value,
            "aws_security_token" => session_token = session_token.or(value),
            _ => {}
        }
    }
    if !found {
        return Ok(None);
    }
    let access_key_id = access_key_id.ok_or("aws_access_key_id")?;
    let secret_access_key = secret_access_key.ok_or("aws_secret_access_key")?;
    Ok(Some(Credentials { access_key_id, secret_access_key, session_token }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::collections::HashMap;
    use std::path::Path;

    use super::*;

    const FILE: &str = "# Homeport root credentials\n\
        [default]\n\
        aws_access_key_id = AKIAROOT\n\
        aws_secret_access_key = rootsecret\n\
        \n\
        [ops]\n\
        AWS_ACCESS_KEY_ID=ASIAOPS\n\
        ; a comment\n\
        aws_secret_access_key=opssecret \n\
        aws_session_token = token/with=signs\n\
        [broken]\n\
        aws_access_key_id = AKIAONLY\n";

    fn key(id: &str, secret: &str, token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: id.into(),
            secret_access_key: secret.into(),
            session_token: token.map(str::to_owned),
        }
    }

    #[test]
    fn profiles_of_a_credentials_file() {
        assert_eq!(profile_credentials(FILE, "default"), Ok(Some(key("AKIAROOT", "rootsecret", None))));
        assert_eq!(profile_credentials(FILE, "ops"), Ok(Some(key("ASIAOPS", "opssecret", Some("token/with=signs")))));
        assert_eq!(profile_credentials(FILE, "absent"), Ok(None));
        assert_eq!(profile_credentials(FILE, "broken"), Err("aws_secret_access_key"));
        assert_eq!(profile_credentials("", "default"), Ok(None));
    }

    fn find_with(env: &[(&str, &str)], files: &[(&str, &str)]) -> Result<(Credentials, Source), String> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let files: HashMap<PathBuf, String> = files.iter().map(|(p, t)| (PathBuf::from(p), (*t).to_owned())).collect();
        find(&|name| env.get(name).cloned(), &|path: &Path| Ok(files.get(path).cloned()))
    }

    #[test]
    fn the_environment_first_then_the_file_and_its_profile() {
        let files = [("/home/me/.aws/credentials", FILE), ("/data/root-credentials", FILE)];
        let env_key = [("AWS_ACCESS_KEY_ID", "AKIAENV"), ("AWS_SECRET_ACCESS_KEY", "envsecret"), ("HOME", "/home/me")];
        assert_eq!(find_with(&env_key, &files).unwrap(), (key("AKIAENV", "envsecret", None), Source::Environment));
        let with_profile = [env_key.as_slice(), &[("AWS_PROFILE", "ops"), ("AWS_SESSION_TOKEN", "t")]].concat();
        assert_eq!(find_with(&with_profile, &files).unwrap().0, key("AKIAENV", "envsecret", Some("t")));

        let (found, source) = find_with(&[("HOME", "/home/me")], &files).unwrap();
        assert_eq!(found.access_key_id, "AKIAROOT");
        assert_eq!(source, Source::File { path: "/home/me/.aws/credentials".into(), profile: "default".into() });
        let env =
            [("HOME", "/home/me"), ("AWS_SHARED_CREDENTIALS_FILE", "/data/root-credentials"), ("AWS_PROFILE", "ops")];
        let (found, source) = find_with(&env, &files).unwrap();
        assert_eq!(
            (found.access_key_id.as_str(), source.to_string()),
            ("ASIAOPS", "profile `ops` of /data/root-credentials".into())
        );
        let tilde = [("HOME", "/data"), ("AWS_SHARED_CREDENTIALS_FILE", "~/root-credentials")];
        assert_eq!(find_with(&tilde, &files).unwrap().0.access_key_id, "AKIAROOT");
    }

    #[test]
    fn what_is_missing_is_named() {
        let files = [("/home/me/.aws/credentials", FILE)];
        for (env, wanted) in [
            (&[("AWS_ACCESS_KEY_ID", "AKIA")][..], "missing: AWS_SECRET_ACCESS_KEY"),
            (&[("AWS_SECRET_ACCESS_KEY", "s")][..], "missing: AWS_ACCESS_KEY_ID"),
            (
                &[("HOME", "/nowhere")][..],
                "unable to locate credentials: no environment variables and no /nowhere/.aws/credentials",
            ),
            (&[][..], "unable to locate credentials"),
            (
                &[("HOME", "/home/me"), ("AWS_PROFILE", "absent")][..],
                "the config profile (absent) could not be found in",
            ),
            (
                &[("HOME", "/nowhere"), ("AWS_PROFILE", "ops")][..],
                "the config profile (ops) could not be found: /nowhere",
            ),
            (&[("HOME", "/home/me"), ("AWS_PROFILE", "broken")][..], "has no aws_secret_access_key"),
        ] {
            let error = find_with(env, &files).unwrap_err();
            assert!(error.contains(wanted), "{env:?}: {error}");
            assert!(!error.contains("rootsecret"));
        }
        let unreadable = find(&|name| (name == "HOME").then(|| "/h".to_owned()), &|_: &Path| {
            Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
        });
        assert!(unreadable.unwrap_err().starts_with("cannot read the credentials file /h/.aws/credentials"));
    }

    #[test]
    fn debug_hides_the_secrets() {
        let shown = format!("{:?}", key("AKIA", "supersecret", Some("supertoken")));
        assert!(shown.contains("AKIA") && !shown.contains("supersecret") && !shown.contains("supertoken"));
    }
}
