//! Layer bytes on disk, content-addressed: `DATA_DIR/registry/blobs/sha256/<2 hex>/<64 hex>`.
//!
//! Guarantees:
//! - A blob file exists only once its bytes hashed to its name: an upload is written to
//!   `DATA_DIR/registry/uploads/<upload id>` while it is hashed, fsync'd, checked against the
//!   client's digest and only then renamed into place (atomic) and the directory fsync'd.
//!   The caller records the layer in the store while still holding [`Completed`], so the
//!   collector never sees a file without its reference being about to exist.
//! - An interrupted or abandoned upload leaves only its file in `uploads/` (and its
//!   `ecr_uploads` row), invisible to every API; both are removed after a day, at start.
//! - Bytes stream: an upload is written chunk by chunk as it arrives and a download is read
//!   chunk by chunk ([`FileBody`]); no layer is ever held whole in memory.
//! - A blob file is removed only when no repository references its digest any more, under
//!   the same lock that completing an upload holds (one process; replicas sharing a store
//!   would also need to share this lock, which they do not yet).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

/// Uploads older than this are removed at start.
const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Bytes read from a blob file per response frame.
const CHUNK: usize = 256 * 1024;

/// A `sha256:<64 lowercase hex>` digest, the only algorithm accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest(String);

impl Digest {
    pub fn parse(text: &str) -> Option<Digest> {
        let hex = text.strip_prefix("sha256:")?;
        let valid = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Digest(text.to_owned()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex(&Sha256::digest(bytes))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn hex(&self) -> &str {
        self.0.strip_prefix("sha256:").unwrap_or_default()
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `id` is an upload id as ECR forms them (a UUID): the only names used in `uploads/`.
pub fn valid_upload_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|group| group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Why an upload could not take bytes or be completed.
#[derive(Debug)]
pub enum UploadError {
    /// No such upload (never started, completed, cancelled or cleaned).
    Unknown,
    /// Another request is writing to it right now.
    Busy,
    /// The client's range does not start where the upload ends (its current size).
    OutOfOrder {
        size: u64,
    },
    /// The bytes do not hash to the digest the client named (the upload is discarded).
    DigestMismatch {
        actual: Digest,
    },
    /// The upload holds no bytes.
    Empty,
    Io(io::Error),
}

impl From<io::Error> for UploadError {
    fn from(error: io::Error) -> UploadError {
        UploadError::Io(error)
    }
}

/// Where an upload's hash stands: it covers the first `len` bytes of the file.
enum Hashing {
    Idle { hasher: Sha256, len: u64 },
    Busy,
}

/// The server's layer files, opened at start by [`start`].
pub fn blobs(app: &crate::app::App) -> Result<&Blobs, aws_protocol::AwsError> {
    app.service_state.get()
}

/// Opens the registry's files for the server and forgets uploads abandoned for over a day
/// (their files went with [`Blobs::open`]); the root calls it once, at start.
pub async fn start(app: &mut crate::app::App, data_dir: &Path) -> Result<(), crate::errors::StartError> {
    let opened =
        Blobs::open(data_dir).map_err(|e| crate::errors::start_error("cannot open the registry's directory")(&e))?;
    app.service_state.provide(opened);
    let abandoned_before =
        crate::ids::now().saturating_sub(i64::try_from(ABANDONED_AFTER.as_secs()).unwrap_or(i64::MAX));
    crate::ecr::model::layer::forget_uploads_started_before(&app.store, abandoned_before)
        .await
        .map_err(|e| crate::errors::start_error("cannot clean the registry's uploads")(&e))?;
    Ok(())
}

/// The blob store under one data directory.
#[derive(Debug)]
pub struct Blobs {
    root: PathBuf,
    hashing: Mutex<HashMap<String, HashingSlot>>,
    collector: tokio::sync::Mutex<()>,
}

/// Wraps [`Hashing`] so the map can derive `Debug` without printing hash state.
struct HashingSlot(Hashing);

impl std::fmt::Debug for HashingSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Hashing::Idle { .. } => "Idle",
            Hashing::Busy => "Busy",
        })
    }
}

/// A completed upload whose blob is in place; the collector waits until it is dropped, so
/// record the layer before dropping it.
pub struct Completed<'a> {
    pub size: u64,
    _collector: tokio::sync::MutexGuard<'a, ()>,
}

impl Blobs {
    /// Opens (creating) `DATA_DIR/registry` and removes uploads abandoned for over a day.
    pub fn open(data_dir: &Path) -> io::Result<Blobs> {
        let root = data_dir.join("registry");
        std::fs::create_dir_all(root.join("blobs").join("sha256"))?;
        std::fs::create_dir_all(root.join("uploads"))?;
        let now = SystemTime::now();
        for entry in std::fs::read_dir(root.join("uploads"))?.flatten() {
            let modified = entry.metadata().and_then(|meta| meta.modified());
            let old = modified.is_ok_and(|time| now.duration_since(time).unwrap_or_default() > ABANDONED_AFTER);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Blobs { root, hashing: Mutex::new(HashMap::new()), collector: tokio::sync::Mutex::new(()) })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("blobs").join("sha256").join(hex.get(..2).unwrap_or("00")).join(hex)
    }

    fn upload_path(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }

    /// Opens a blob to read: the file and its length (`None` when absent).
    pub async fn open_blob(&self, digest: &Digest) -> io::Result<Option<(tokio::fs::File, u64)>> {
        match tokio::fs::File::open(self.blob_path(digest)).await {
            Ok(file) => {
                let len = file.metadata().await?.len();
                Ok(Some((file, len)))
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Whether the blob's file is present.
    #[cfg(test)]
    async fn exists(&self, digest: &Digest) -> bool {
        tokio::fs::metadata(self.blob_path(digest)).await.is_ok()
    }

    /// Starts an upload: an empty file named by its id.
    pub async fn start_upload(&self, id: &str) -> io::Result<()> {
        if !valid_upload_id(id) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not an upload id"));
        }
        tokio::fs::File::create(self.upload_path(id)).await?;
        self.slots().insert(id.to_owned(), HashingSlot(Hashing::Idle { hasher: Sha256::new(), len: 0 }));
        Ok(())
    }

    /// How many bytes an upload holds, `None` if there is no such upload.
    pub async fn upload_size(&self, id: &str) -> io::Result<Option<u64>> {
        if !valid_upload_id(id) {
            return Ok(None);
        }
        match tokio::fs::metadata(self.upload_path(id)).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Opens an upload to append to. `offset`, when the client gave one, must be the
    /// upload's current size.
    pub async fn writer(&self, id: &str, offset: Option<u64>) -> Result<UploadWriter<'_>, UploadError> {
        let (file, hasher, len) = self.take(id, offset).await?;
        Ok(UploadWriter { blobs: self, id: id.to_owned(), file, hasher, len })
    }

    /// Marks an upload busy and returns its file (for appending), its hash and its size.
    async fn take(&self, id: &str, offset: Option<u64>) -> Result<(tokio::fs::File, Sha256, u64), UploadError> {
        let Some(size) = self.upload_size(id).await? else { return Err(UploadError::Unknown) };
        if offset.is_some_and(|offset| offset != size) {
            return Err(UploadError::OutOfOrder { size });
        }
        let taken = {
            let mut slots = self.slots();
            match slots.insert(id.to_owned(), HashingSlot(Hashing::Busy)) {
                Some(HashingSlot(Hashing::Busy)) => return Err(UploadError::Busy),
                Some(HashingSlot(Hashing::Idle { hasher, len })) if len == size => Some(hasher),
                _ => None,
            }
        };
        let opened = async {
            // After a restart (or a failed write) the hash is rebuilt from the file.
            let hasher = match taken {
                Some(hasher) => hasher,
                None => self.hash_file(&self.upload_path(id)).await?,
            };
            let file = tokio::fs::OpenOptions::new().append(true).open(self.upload_path(id)).await?;
            Ok::<_, io::Error>((file, hasher, size))
        }
        .await;
        if opened.is_err() {
            self.slots().remove(id);
        }
        Ok(opened?)
    }

    async fn hash_file(&self, path: &Path) -> io::Result<Sha256> {
        let mut file = tokio::fs::File::open(path).await?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0_u8; CHUNK];
        loop {
            let read = file.read(&mut buffer).await?;
            if read == 0 {
                return Ok(hasher);
            }
            hasher.update(buffer.get(..read).unwrap_or_default());
        }
    }

    /// Completes an upload: its bytes must hash to `digest`; the file is synced and renamed
    /// into place. On a mismatch the upload is discarded.
    pub async fn complete(&self, id: &str, digest: &Digest) -> Result<Completed<'_>, UploadError> {
        // The slot stays Busy: nothing may append while the upload completes.
        let (file, hasher, len) = self.take(id, None).await?;
        let outcome = async {
            if len == 0 {
                return Err(UploadError::Empty);
            }
            let actual = Digest(format!("sha256:{}", hex(&hasher.finalize())));
            if &actual != digest {
                let _ = tokio::fs::remove_file(self.upload_path(id)).await;
                return Err(UploadError::DigestMismatch { actual });
            }
            file.sync_all().await?;
            drop(file);
            let target = self.blob_path(digest);
            let directory = target.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
            let collector = self.collector.lock().await;
            tokio::fs::create_dir_all(&directory).await?;
            tokio::fs::rename(self.upload_path(id), &target).await?;
            tokio::fs::File::open(&directory).await?.sync_all().await?;
            Ok(Completed { size: len, _collector: collector })
        }
        .await;
        self.slots().remove(id);
        outcome
    }

    /// Discards an upload (its file); unknown ids are ignored.
    pub async fn cancel(&self, id: &str) {
        if valid_upload_id(id) {
            let _ = tokio::fs::remove_file(self.upload_path(id)).await;
            self.slots().remove(id);
        }
    }

    /// Removes the blob files of `digests` that no repository references any more.
    pub async fn collect(&self, store: &store::Store, digests: &[String]) {
        let _collector = self.collector.lock().await;
        for digest in digests {
            let Some(digest) = Digest::parse(digest) else { continue };
            let referenced = crate::ecr::model::layer::referenced(store, digest.as_str()).await;
            // When the store cannot say, keep the file: a stray file is harmless, a lost one is not.
            if referenced == Ok(false) {
                let _ = tokio::fs::remove_file(self.blob_path(&digest)).await;
            }
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashingSlot>> {
        self.hashing.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Appends to one upload while hashing what it writes; [`UploadWriter::finish`] keeps the
/// hash for the next request. Dropped without `finish`, the hash is rebuilt next time.
pub struct UploadWriter<'a> {
    blobs: &'a Blobs,
    id: String,
    file: tokio::fs::File,
    hasher: Sha256,
    len: u64,
}

impl UploadWriter<'_> {
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes).await?;
        self.hasher.update(bytes);
        self.len += u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        Ok(())
    }

    /// Flushes and returns the upload's size.
    pub async fn finish(mut self) -> io::Result<u64> {
        let flushed = self.file.flush().await;
        let mut slots = self.blobs.slots();
        match flushed {
            Ok(()) => {
                let hasher = std::mem::take(&mut self.hasher);
                slots.insert(self.id.clone(), HashingSlot(Hashing::Idle { hasher, len: self.len }));
                Ok(self.len)
            }
            Err(error) => {
                slots.remove(&self.id);
                Err(error)
            }
        }
    }
}

impl Drop for UploadWriter<'_> {
    fn drop(&mut self) {
        // Not finished (an error or a client gone mid-body): release the slot; the hash is
        // rebuilt from the file by the next writer.
        let mut slots = self.blobs.slots();
        if matches!(slots.get(&self.id), Some(HashingSlot(Hashing::Busy))) {
            slots.remove(&self.id);
        }
    }
}

/// A response body that streams a file, `CHUNK` bytes a frame.
pub struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
}

impl FileBody {
    pub fn new(file: tokio::fs::File, len: u64) -> FileBody {
        FileBody { file, remaining: len }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(self.remaining).unwrap_or(CHUNK).min(CHUNK);
        let mut buffer = vec![0_u8; want];
        let mut read = ReadBuf::new(&mut buffer);
        match Pin::new(&mut self.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => Poll::Ready(Some(Err(error))),
            Poll::Ready(Ok(())) => {
                let filled = read.filled().len();
                if filled == 0 {
                    return Poll::Ready(Some(Err(io::Error::from(io::ErrorKind::UnexpectedEof))));
                }
                buffer.truncate(filled);
                self.remaining = self.remaining.saturating_sub(u64::try_from(filled).unwrap_or(u64::MAX));
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(buffer)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_upload_ids_are_checked_before_touching_paths() {
        let digest = Digest::of(b"hello");
        assert_eq!(digest.as_str(), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(Digest::parse(digest.as_str()), Some(digest));
        for bad in
            ["sha256:../../etc", "sha512:ab", "sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"]
        {
            assert_eq!(Digest::parse(bad), None, "{bad}");
        }
        assert!(valid_upload_id("0f0e0d0c-0b0a-4909-a807-060504030201"));
        for bad in ["../x", "0f0e0d0c-0b0a-4909-a807-06050403020", "0f0e0d0c/0b0a-4909-a807-060504030201"] {
            assert!(!valid_upload_id(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn an_upload_becomes_a_blob_only_with_its_digest() {
        let dir = std::env::temp_dir().join(format!("homeport-blobs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let blobs = Blobs::open(&dir).unwrap();
        let id = "0f0e0d0c-0b0a-4909-a807-060504030201";
        blobs.start_upload(id).await.unwrap();
        let mut writer = blobs.writer(id, Some(0)).await.unwrap();
        writer.write(b"hel").await.unwrap();
        assert_eq!(writer.finish().await.unwrap(), 3);
        assert!(matches!(blobs.writer(id, Some(0)).await, Err(UploadError::OutOfOrder { size: 3 })));
        // A writer dropped mid-way leaves the hash to be rebuilt from the file.
        let mut writer = blobs.writer(id, Some(3)).await.unwrap();
        writer.write(b"lo").await.unwrap();
        drop(writer);
        let digest = Digest::of(b"hello");
        assert!(!blobs.exists(&digest).await);
        let wrong = Digest::of(b"other");
        let mismatch = blobs.complete(id, &wrong).await;
        assert!(matches!(mismatch, Err(UploadError::DigestMismatch { ref actual }) if *actual == digest));
        assert_eq!(blobs.upload_size(id).await.unwrap(), None, "a refused upload is discarded");
        assert!(!blobs.exists(&wrong).await && !blobs.exists(&digest).await);

        blobs.start_upload(id).await.unwrap();
        let mut writer = blobs.writer(id, None).await.unwrap();
        writer.write(b"hello").await.unwrap();
        writer.finish().await.unwrap();
        let completed = blobs.complete(id, &digest).await.unwrap();
        assert_eq!(completed.size, 5);
        drop(completed);
        let (mut file, len) = blobs.open_blob(&digest).await.unwrap().unwrap();
        assert_eq!(len, 5);
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "hello");
        assert_eq!(blobs.upload_size(id).await.unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
