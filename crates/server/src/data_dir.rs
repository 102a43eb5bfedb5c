//! The data directory on disk: private to Homeport's user, with the secrets in it 0600.

use std::path::Path;

use crate::errors::{StartError, start_error};

/// Makes a data directory that existed before (made by hand, by an image's volume, or by an
/// older version) private, with the secrets in it: the directory and `tls/` 0700,
/// `master.key`, `root-credentials` and the TLS keys 0600, as a new one is created. Returns a line for each change, for the
/// log; refuses to start when a mode cannot be fixed (the directory belongs to another user),
/// since the database, the master key and the registry's layers would stay readable.
pub(crate) fn make_private(data_dir: &Path) -> Result<Vec<String>, StartError> {
    let mut changes = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let targets = [
            (data_dir.to_owned(), 0o700, "the database, the master key and the registry's layers in it"),
            (data_dir.join("master.key"), 0o600, "the master key"),
            (data_dir.join("root-credentials"), 0o600, "the root credentials"),
            (data_dir.join("tls"), 0o700, "the TLS keys in it"),
            (data_dir.join("tls/ca.key"), 0o600, "the CA's key"),
            (data_dir.join("tls/server.key"), 0o600, "the serving certificate's key"),
        ];
        for (path, private, exposed) in targets {
            // A symbolic link (a key file mounted from elsewhere) is judged by what it points at.
            let mode = match std::fs::metadata(&path) {
                Ok(metadata) => metadata.permissions().mode(),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => return Err(start_error(&format!("cannot read the mode of {}", path.display()))(&error)),
            };
            if mode & 0o077 == 0 {
                continue;
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(private)).map_err(|error| {
                StartError(format!(
                    "{} is mode {:04o}: other users could read {exposed}, and it cannot be made \
                     {private:04o}: {error}; chmod it yourself (as its owner) or use another --data-dir",
                    path.display(),
                    mode & 0o7777
                ))
            })?;
            changes.push(format!(
                "{} was mode {:04o}, open to other users: set it to {private:04o}",
                path.display(),
                mode & 0o7777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = data_dir;
    Ok(changes)
}

/// Creates `path` (and its parents) readable by Homeport's user only.
pub(crate) fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}
