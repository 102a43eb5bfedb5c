//! Layer bytes on disk, content-addressed and encrypted at rest:
//! `DATA_DIR/registry/sealed/blobs/sha256/<2 hex>/<64 hex>`.
//!
//! Guarantees:
//! - Every blob and every upload in progress is encrypted ([`SEALED_MAGIC`] format below)
//!   with a key derived from Homeport's master key for this purpose only
//!   (`Sealer::derive_key("ecr registry blobs")`); no plaintext byte of a layer is written to
//!   disk. Digests stay over the plaintext: what the client sent and asks for.
//! - A blob file exists only once its bytes hashed to its name: an upload is written to
//!   `DATA_DIR/registry/sealed/uploads/<upload id>` while it is hashed, fsync'd, checked
//!   against the client's digest, sealed with its final chunk and only then renamed into
//!   place (atomic) and the directory fsync'd. The caller records the layer in the store
//!   while still holding [`Completed`], so the collector never sees a file without its
//!   reference being about to exist.
//! - A blob is served only once all of it opened ([`Blobs::open_verified`]): a chunk altered,
//!   moved, dropped or cut off, or a file without its final chunk, is refused, never served
//!   (and a change made while it streams ends the stream before the changed chunk).
//! - An interrupted or abandoned upload leaves only its file in `uploads/` (and its
//!   `ecr_uploads` row), invisible to every API; both are removed after a day, at start. An
//!   upload cut mid-chunk (a crash) keeps the chunks before the cut.
//! - Bytes stream: an upload is sealed chunk by chunk as it arrives and a download is opened
//!   chunk by chunk ([`SealedBody`]); no layer is ever held whole in memory (at most a few
//!   chunks of [`CHUNK`] bytes per request).
//! - A blob file is removed only when no repository references its digest any more, under
//!   the same lock that completing an upload holds (one process; replicas sharing a store
//!   would also need to share this lock, which they do not yet).
//!
//! The format: a header, [`SEALED_MAGIC`] then a 16-byte random salt (the file's key is
//! derived from the blob key and the salt: nonces never repeat across files); then chunks,
//! each a 4-byte big-endian length of its plaintext (at most [`CHUNK`]; the top bit marks the
//! final chunk) and its AES-256-GCM ciphertext and tag, sealed with its index and the final
//! mark in the nonce (`store::seal::ChunkCipher`). Chunks are full-size but for the last of
//! each request's body (an upload resumed by a later request goes on with a new chunk); a
//! completed blob ends with an empty final chunk. So a chunk moved, repeated or dropped, and
//! a blob cut at any byte, does not open.
//!
//! Blobs stored before encryption (plaintext, `DATA_DIR/registry/blobs/...`) are converted
//! at start ([`Blobs::open`]): each is hashed while it is sealed, moved into the sealed tree
//! only if it still hashes to its name, and removed; the two trees are the marker, so a
//! plaintext file is never mistaken for a sealed one nor the reverse. Plaintext uploads in
//! progress at the upgrade are discarded (the client starts the layer again).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use sha2::{Digest as _, Sha256};
use store::seal::{CHUNK_TAG_LEN, ChunkCipher};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, ReadBuf};

/// Uploads older than this are removed at start.
const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The plaintext bytes of a full chunk; also what a legacy file is read by.
pub const CHUNK: usize = 64 * 1024;

/// What a sealed file starts with (format version 1).
pub const SEALED_MAGIC: &[u8; 4] = b"HPB\x01";

/// The salt that follows the magic.
const SALT_LEN: usize = 16;

/// The header's length.
const HEADER_LEN: u64 = 4 + 16;

/// The bit of a chunk's length that marks the final chunk.
const FINAL: u32 = 0x8000_0000;

/// The master key's purpose the blob key is derived for.
pub const KEY_PURPOSE: &str = "ecr registry blobs";

/// Frames a download keeps ready ahead of the client (each at most one chunk).
const FRAMES_AHEAD: usize = 4;

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

/// The refusal of a sealed file that does not open (altered, cut short, or not sealed with
/// this key).
fn tampered(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("the blob file does not open: {what}"))
}

/// Where an upload stands: its hash covers its `len` plaintext bytes, in `chunks` chunks.
enum Hashing {
    Idle { hasher: Sha256, len: u64, chunks: u64 },
    Busy,
}

/// The server's layer files, opened at start by [`start`].
pub fn blobs(app: &crate::app::App) -> Result<&Blobs, aws_protocol::AwsError> {
    app.service_state.get()
}

/// Opens the registry's files for the server (sealing any blob stored before encryption)
/// and forgets uploads abandoned for over a day (their files went with [`Blobs::open`]); the
/// root calls it once, at start.
pub async fn start(app: &mut crate::app::App, data_dir: &Path) -> Result<(), crate::errors::StartError> {
    let key = app.sealer.derive_key(KEY_PURPOSE);
    let data_dir = data_dir.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || Blobs::open(&data_dir, key))
        .await
        .map_err(|e| crate::errors::start_error("cannot open the registry's directory")(&e))?
        .map_err(|e| crate::errors::start_error("cannot open the registry's directory")(&e))?;
    app.service_state.provide(opened);
    let abandoned_before =
        crate::ids::now().saturating_sub(i64::try_from(ABANDONED_AFTER.as_secs()).unwrap_or(i64::MAX));
    crate::ecr::model::layer::forget_uploads_started_before(&app.store, abandoned_before)
        .await
        .map_err(|e| crate::errors::start_error("cannot clean the registry's uploads")(&e))?;
    Ok(())
}

/// The blob store under one data directory.
pub struct Blobs {
    root: PathBuf,
    key: [u8; 32],
    hashing: Mutex<HashMap<String, HashingSlot>>,
    collector: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs").field("root", &self.root).field("hashing", &self.hashing).finish_non_exhaustive()
    }
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

/// A sealed file's header: the magic and a fresh random salt.
fn new_header() -> io::Result<[u8; HEADER_LEN as usize]> {
    let mut salt = [0_u8; SALT_LEN];
    getrandom::getrandom(&mut salt).map_err(|error| io::Error::other(format!("no randomness: {error}")))?;
    Ok(std::array::from_fn(|at| {
        if at < SEALED_MAGIC.len() {
            SEALED_MAGIC.get(at).copied().unwrap_or(0)
        } else {
            salt.get(at - SEALED_MAGIC.len()).copied().unwrap_or(0)
        }
    }))
}

/// The cipher of a sealed file from its header, or the refusal of a header that is not one.
fn cipher_of(key: &[u8; 32], header: &[u8]) -> io::Result<ChunkCipher> {
    match header.split_at_checked(SEALED_MAGIC.len()) {
        Some((magic, salt)) if magic == SEALED_MAGIC && salt.len() == SALT_LEN => Ok(ChunkCipher::for_file(key, salt)),
        _ => Err(tampered("no sealed header")),
    }
}

/// One chunk as stored: its length word and its sealed bytes.
fn chunk_record(cipher: &ChunkCipher, index: u64, last: bool, plaintext: &[u8]) -> io::Result<Vec<u8>> {
    let sealed = cipher.seal_chunk(index, last, plaintext).map_err(|_| io::Error::other("sealing failed"))?;
    let len = u32::try_from(plaintext.len()).map_err(|_| io::Error::other("chunk too large"))?;
    let word = if last { len | FINAL } else { len };
    let mut record = Vec::with_capacity(4 + sealed.len());
    record.extend_from_slice(&word.to_be_bytes());
    record.extend_from_slice(&sealed);
    Ok(record)
}

/// Reads the chunks of a sealed file in order, opening each.
struct ChunkReader {
    file: tokio::io::BufReader<tokio::fs::File>,
    cipher: ChunkCipher,
    index: u64,
    /// Where the next chunk starts in the file.
    offset: u64,
    /// The file's length when opened.
    file_len: u64,
    buffer: Vec<u8>,
}

/// What [`ChunkReader::next`] found.
enum Chunk {
    /// A chunk's plaintext, and whether it is the final one.
    Plain(Vec<u8>, bool),
    /// The end of the file, on a chunk boundary.
    End,
    /// A chunk cut short by the end of the file.
    Torn,
}

impl ChunkReader {
    async fn open(key: &[u8; 32], path: &Path) -> io::Result<ChunkReader> {
        let file = tokio::fs::File::open(path).await?;
        let file_len = file.metadata().await?.len();
        let mut file = tokio::io::BufReader::with_capacity(CHUNK + CHUNK_TAG_LEN + 4, file);
        let mut header = [0_u8; HEADER_LEN as usize];
        file.read_exact(&mut header).await.map_err(|_| tampered("no sealed header"))?;
        let cipher = cipher_of(key, &header)?;
        let buffer = Vec::with_capacity(CHUNK + CHUNK_TAG_LEN);
        Ok(ChunkReader { file, cipher, index: 0, offset: HEADER_LEN, file_len, buffer })
    }

    /// The length word of the next chunk, `None` at the end of the file.
    async fn length_word(&mut self) -> io::Result<Option<Result<u32, ()>>> {
        let mut word = [0_u8; 4];
        let mut filled = 0;
        while filled < word.len() {
            let read = self.file.read(word.get_mut(filled..).unwrap_or_default()).await?;
            if read == 0 {
                return Ok(if filled == 0 { None } else { Some(Err(())) });
            }
            filled += read;
        }
        Ok(Some(Ok(u32::from_be_bytes(word))))
    }

    /// The next chunk, opened (a chunk that does not open is an error).
    async fn next(&mut self) -> io::Result<Chunk> {
        let word = match self.length_word().await? {
            None => return Ok(Chunk::End),
            Some(Err(())) => return Ok(Chunk::Torn),
            Some(Ok(word)) => word,
        };
        let last = word & FINAL != 0;
        let len = usize::try_from(word & !FINAL).unwrap_or(usize::MAX);
        if len > CHUNK {
            return Err(tampered("a chunk longer than any written"));
        }
        self.buffer.resize(len + CHUNK_TAG_LEN, 0);
        if let Err(error) = self.file.read_exact(&mut self.buffer).await {
            return if error.kind() == io::ErrorKind::UnexpectedEof { Ok(Chunk::Torn) } else { Err(error) };
        }
        let plain =
            self.cipher.open_chunk(self.index, last, &self.buffer).map_err(|_| tampered("a chunk does not open"))?;
        self.index += 1;
        self.offset += 4 + u64::try_from(self.buffer.len()).unwrap_or(u64::MAX);
        Ok(Chunk::Plain(plain, last))
    }

    /// Skips the next chunk without opening it: its plaintext length and whether it is the
    /// final one, `None` at the end of the file (or a torn chunk).
    async fn skip(&mut self) -> io::Result<Option<(u64, bool)>> {
        let Some(Ok(word)) = self.length_word().await? else { return Ok(None) };
        let len = u64::from(word & !FINAL);
        if len > CHUNK as u64 {
            return Err(tampered("a chunk longer than any written"));
        }
        let sealed = len + CHUNK_TAG_LEN as u64;
        if self.offset + 4 + sealed > self.file_len {
            return Ok(None); // cut short
        }
        self.file.seek(io::SeekFrom::Current(i64::try_from(sealed).unwrap_or(i64::MAX))).await?;
        self.index += 1;
        self.offset += 4 + sealed;
        Ok(Some((len, word & FINAL != 0)))
    }
}

impl Blobs {
    /// Opens (creating) `DATA_DIR/registry`, seals the blobs stored before encryption, and
    /// removes uploads abandoned for over a day (and plaintext uploads left by an older
    /// version). Blocking: run it off the async workers.
    pub fn open(data_dir: &Path, key: [u8; 32]) -> io::Result<Blobs> {
        let registry = data_dir.join("registry");
        let root = registry.join("sealed");
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
        let blobs = Blobs { root, key, hashing: Mutex::new(HashMap::new()), collector: tokio::sync::Mutex::new(()) };
        blobs.seal_legacy(&registry)?;
        Ok(blobs)
    }

    /// Seals every plaintext blob of `registry/blobs` (stored before encryption) into the
    /// sealed tree, if it still hashes to its name, and removes it; drops plaintext uploads.
    fn seal_legacy(&self, registry: &Path) -> io::Result<()> {
        let legacy = registry.join("blobs").join("sha256");
        if let Ok(prefixes) = std::fs::read_dir(&legacy) {
            for prefix in prefixes.flatten() {
                for entry in std::fs::read_dir(prefix.path())?.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let Some(digest) = Digest::parse(&format!("sha256:{name}")) else { continue };
                    match self.seal_legacy_blob(&entry.path(), &digest) {
                        Ok(true) => std::fs::remove_file(entry.path())?,
                        Ok(false) => tracing::warn!(
                            "registry: {} does not hash to its name; left unsealed and not served",
                            entry.path().display()
                        ),
                        Err(error) => return Err(error),
                    }
                }
                let _ = std::fs::remove_dir(prefix.path());
            }
            let _ = std::fs::remove_dir(&legacy);
            let _ = std::fs::remove_dir(registry.join("blobs"));
        }
        if let Ok(uploads) = std::fs::read_dir(registry.join("uploads")) {
            for upload in uploads.flatten() {
                let _ = std::fs::remove_file(upload.path());
            }
            let _ = std::fs::remove_dir(registry.join("uploads"));
        }
        Ok(())
    }

    /// Seals one plaintext blob into place; false (nothing changed) when it does not hash to
    /// `digest`. A sealed copy already in place (a conversion interrupted after its rename)
    /// is kept.
    fn seal_legacy_blob(&self, path: &Path, digest: &Digest) -> io::Result<bool> {
        use std::io::{Read as _, Write as _};
        let target = self.blob_path(digest);
        if target.exists() {
            return Ok(true);
        }
        let header = new_header()?;
        let cipher = cipher_of(&self.key, &header)?;
        let temporary = self.root.join("uploads").join(format!("sealing-{}", digest.hex()));
        let mut input = std::fs::File::open(path)?;
        let mut output = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
        output.write_all(&header)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0_u8; CHUNK];
        let mut index = 0;
        loop {
            let mut filled = 0;
            while filled < CHUNK {
                let read = input.read(buffer.get_mut(filled..).unwrap_or_default())?;
                if read == 0 {
                    break;
                }
                filled += read;
            }
            let plain = buffer.get(..filled).unwrap_or_default();
            hasher.update(plain);
            if filled > 0 {
                output.write_all(&chunk_record(&cipher, index, false, plain)?)?;
                index += 1;
            }
            if filled < CHUNK {
                break;
            }
        }
        output.write_all(&chunk_record(&cipher, index, true, &[])?)?;
        let file = output.into_inner().map_err(|error| error.into_error())?;
        if Digest(format!("sha256:{}", hex(&hasher.finalize()))) != *digest {
            drop(file);
            std::fs::remove_file(&temporary)?;
            return Ok(false);
        }
        file.sync_all()?;
        drop(file);
        let directory = target.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
        std::fs::create_dir_all(&directory)?;
        std::fs::rename(&temporary, &target)?;
        std::fs::File::open(&directory)?.sync_all()?;
        Ok(true)
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("blobs").join("sha256").join(hex.get(..2).unwrap_or("00")).join(hex)
    }

    fn upload_path(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }

    /// A blob's plaintext length, from its chunks' length words (nothing opened; `None` when
    /// absent). A file without its final chunk is refused.
    pub async fn blob_len(&self, digest: &Digest) -> io::Result<Option<u64>> {
        let mut reader = match ChunkReader::open(&self.key, &self.blob_path(digest)).await {
            Ok(reader) => reader,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut len = 0;
        while let Some((chunk, last)) = reader.skip().await? {
            len += chunk;
            if last {
                return Ok(Some(len));
            }
        }
        Err(tampered("no final chunk"))
    }

    /// Opens every chunk of a blob: its plaintext length once all of it opened, `None` when
    /// absent, an `InvalidData` error for a file altered, reordered or cut short.
    pub async fn open_verified(&self, digest: &Digest) -> io::Result<Option<u64>> {
        let mut reader = match ChunkReader::open(&self.key, &self.blob_path(digest)).await {
            Ok(reader) => reader,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut len = 0;
        loop {
            match reader.next().await? {
                Chunk::Plain(plain, last) => {
                    len += u64::try_from(plain.len()).unwrap_or(u64::MAX);
                    if last {
                        return match reader.length_word().await? {
                            None => Ok(Some(len)),
                            Some(_) => Err(tampered("bytes after the final chunk")),
                        };
                    }
                }
                Chunk::End | Chunk::Torn => return Err(tampered("no final chunk")),
            }
        }
    }

    /// A response body of `count` plaintext bytes of a blob from byte `start`, opened chunk
    /// by chunk as the client reads (a chunk that does not open ends the body with an error).
    pub fn body(&self, digest: &Digest, start: u64, count: u64) -> SealedBody {
        let (sender, receiver) = tokio::sync::mpsc::channel(FRAMES_AHEAD);
        let path = self.blob_path(digest);
        let key = self.key;
        tokio::spawn(async move {
            if let Err(error) = stream_blob(&key, &path, start, count, &sender).await {
                let _ = sender.send(Err(error)).await;
            }
        });
        SealedBody { receiver, remaining: count }
    }

    /// Whether the blob's file is present.
    #[cfg(test)]
    async fn exists(&self, digest: &Digest) -> bool {
        tokio::fs::metadata(self.blob_path(digest)).await.is_ok()
    }

    /// Starts an upload: a sealed file with its header and no chunk.
    pub async fn start_upload(&self, id: &str) -> io::Result<()> {
        if !valid_upload_id(id) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not an upload id"));
        }
        let mut file = tokio::fs::File::create(self.upload_path(id)).await?;
        file.write_all(&new_header()?).await?;
        file.flush().await?;
        self.slots().insert(id.to_owned(), HashingSlot(Hashing::Idle { hasher: Sha256::new(), len: 0, chunks: 0 }));
        Ok(())
    }

    /// How many bytes an upload holds, `None` if there is no such upload.
    pub async fn upload_size(&self, id: &str) -> io::Result<Option<u64>> {
        if !valid_upload_id(id) {
            return Ok(None);
        }
        if let Some(HashingSlot(Hashing::Idle { len, .. })) = self.slots().get(id) {
            return Ok(Some(*len));
        }
        // Being written (its size then is what is complete), or not seen since a restart.
        let mut reader = match ChunkReader::open(&self.key, &self.upload_path(id)).await {
            Ok(reader) => reader,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut len = 0;
        while let Some((chunk, _)) = reader.skip().await? {
            len += chunk;
        }
        Ok(Some(len))
    }

    /// Opens an upload to append to. `offset`, when the client gave one, must be the
    /// upload's current size.
    pub async fn writer(&self, id: &str, offset: Option<u64>) -> Result<UploadWriter<'_>, UploadError> {
        let taken = self.take(id, offset).await?;
        Ok(UploadWriter {
            blobs: self,
            id: id.to_owned(),
            file: taken.file,
            cipher: taken.cipher,
            hasher: taken.hasher,
            len: taken.len,
            chunks: taken.chunks,
            pending: Vec::with_capacity(CHUNK),
        })
    }

    /// Marks an upload busy and returns its file (for appending), cipher, hash and size.
    async fn take(&self, id: &str, offset: Option<u64>) -> Result<Taken, UploadError> {
        if !valid_upload_id(id) || !tokio::fs::try_exists(self.upload_path(id)).await? {
            return Err(UploadError::Unknown);
        }
        let taken = {
            let mut slots = self.slots();
            match slots.insert(id.to_owned(), HashingSlot(Hashing::Busy)) {
                Some(HashingSlot(Hashing::Busy)) => return Err(UploadError::Busy),
                Some(HashingSlot(Hashing::Idle { hasher, len, chunks })) => Some((hasher, len, chunks)),
                None => None,
            }
        };
        let opened = async {
            // After a restart (or a failed write) the hash is rebuilt from the file, and a
            // chunk cut short is cut off.
            let (hasher, len, chunks) = match taken {
                Some(state) => state,
                None => self.rebuild(&self.upload_path(id)).await?,
            };
            if offset.is_some_and(|offset| offset != len) {
                return Err(UploadError::OutOfOrder { size: len });
            }
            let mut file = tokio::fs::OpenOptions::new().read(true).append(true).open(self.upload_path(id)).await?;
            let mut header = [0_u8; HEADER_LEN as usize];
            file.read_exact(&mut header).await.map_err(|_| tampered("no sealed header"))?;
            let cipher = cipher_of(&self.key, &header)?;
            Ok(Taken { file, cipher, hasher, len, chunks })
        }
        .await;
        match opened {
            Ok(taken) => Ok(taken),
            Err(error) => {
                self.slots().remove(id);
                Err(error)
            }
        }
    }

    /// An upload's hash, length and chunk count from its file, cutting off a chunk cut short
    /// (a crash mid-write).
    async fn rebuild(&self, path: &Path) -> Result<(Sha256, u64, u64), UploadError> {
        let mut reader = ChunkReader::open(&self.key, path).await?;
        let mut hasher = Sha256::new();
        let mut len = 0;
        loop {
            let at = reader.offset;
            match reader.next().await? {
                Chunk::Plain(plain, false) => {
                    hasher.update(&plain);
                    len += u64::try_from(plain.len()).unwrap_or(u64::MAX);
                }
                Chunk::Plain(_, true) => return Err(tampered("an upload with a final chunk").into()),
                Chunk::End => return Ok((hasher, len, reader.index)),
                Chunk::Torn => {
                    tokio::fs::OpenOptions::new().write(true).open(path).await?.set_len(at).await?;
                    return Ok((hasher, len, reader.index));
                }
            }
        }
    }

    /// Completes an upload: its bytes must hash to `digest`; its final chunk is written, the
    /// file synced and renamed into place. On a mismatch the upload is discarded.
    pub async fn complete(&self, id: &str, digest: &Digest) -> Result<Completed<'_>, UploadError> {
        // The slot stays Busy: nothing may append while the upload completes.
        let Taken { mut file, cipher, hasher, len, chunks } = self.take(id, None).await?;
        let outcome = async {
            if len == 0 {
                return Err(UploadError::Empty);
            }
            let actual = Digest(format!("sha256:{}", hex(&hasher.finalize())));
            if &actual != digest {
                let _ = tokio::fs::remove_file(self.upload_path(id)).await;
                return Err(UploadError::DigestMismatch { actual });
            }
            file.write_all(&chunk_record(&cipher, chunks, true, &[])?).await?;
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

/// An upload taken for writing.
struct Taken {
    file: tokio::fs::File,
    cipher: ChunkCipher,
    hasher: Sha256,
    len: u64,
    chunks: u64,
}

/// Sends `count` plaintext bytes of the blob at `path` from byte `start`, a chunk a frame.
async fn stream_blob(
    key: &[u8; 32],
    path: &Path,
    start: u64,
    count: u64,
    sender: &tokio::sync::mpsc::Sender<io::Result<Bytes>>,
) -> io::Result<()> {
    let mut reader = ChunkReader::open(key, path).await?;
    // Chunks wholly before `start` are skipped unopened (each still opens when read in
    // full: the verified read before the body did).
    let mut skip = start;
    let mut remaining = count;
    while remaining > 0 {
        if skip > 0 {
            let at = (reader.offset, reader.index);
            let mut word = [0_u8; 4];
            reader.file.read_exact(&mut word).await?;
            let len = u64::from(u32::from_be_bytes(word) & !FINAL);
            if len <= skip && u32::from_be_bytes(word) & FINAL == 0 {
                let sealed = len + CHUNK_TAG_LEN as u64;
                reader.file.seek(io::SeekFrom::Current(i64::try_from(sealed).unwrap_or(i64::MAX))).await?;
                reader.index += 1;
                reader.offset = at.0 + 4 + sealed;
                skip -= len;
                continue;
            }
            // The chunk holding `start`: read again from its start, in full.
            reader.file.seek(io::SeekFrom::Start(at.0)).await?;
        }
        let Chunk::Plain(plain, last) = reader.next().await? else { return Err(tampered("no final chunk")) };
        let from = usize::try_from(skip).unwrap_or(usize::MAX).min(plain.len());
        skip = 0;
        let wanted = usize::try_from(remaining).unwrap_or(usize::MAX).min(plain.len() - from);
        if wanted > 0 {
            let frame = Bytes::copy_from_slice(plain.get(from..from + wanted).unwrap_or_default());
            remaining -= u64::try_from(wanted).unwrap_or(u64::MAX);
            if sender.send(Ok(frame)).await.is_err() {
                return Ok(()); // the client went away
            }
        }
        if last && remaining > 0 {
            return Err(tampered("the blob is shorter than its length"));
        }
    }
    Ok(())
}

/// Appends to one upload while hashing what it writes, sealing a chunk whenever [`CHUNK`]
/// bytes are pending; [`UploadWriter::finish`] seals the rest and keeps the hash for the
/// next request. Dropped without `finish`, the hash is rebuilt next time (from the chunks
/// written).
pub struct UploadWriter<'a> {
    blobs: &'a Blobs,
    id: String,
    file: tokio::fs::File,
    cipher: ChunkCipher,
    hasher: Sha256,
    /// Plaintext bytes sealed into the file.
    len: u64,
    chunks: u64,
    /// Plaintext bytes not sealed yet (less than a chunk).
    pending: Vec<u8>,
}

impl UploadWriter<'_> {
    pub async fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let room = CHUNK - self.pending.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.pending.extend_from_slice(now);
            bytes = later;
            if self.pending.len() == CHUNK {
                self.seal_pending().await?;
            }
        }
        Ok(())
    }

    async fn seal_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let record = chunk_record(&self.cipher, self.chunks, false, &self.pending)?;
        self.file.write_all(&record).await?;
        self.hasher.update(&self.pending);
        self.len += u64::try_from(self.pending.len()).unwrap_or(u64::MAX);
        self.chunks += 1;
        self.pending.clear();
        Ok(())
    }

    /// Seals what is pending, flushes, and returns the upload's size.
    pub async fn finish(mut self) -> io::Result<u64> {
        let sealed = self.seal_pending().await;
        let flushed = match sealed {
            Ok(()) => self.file.flush().await,
            Err(error) => Err(error),
        };
        let mut slots = self.blobs.slots();
        match flushed {
            Ok(()) => {
                let hasher = std::mem::take(&mut self.hasher);
                slots
                    .insert(self.id.clone(), HashingSlot(Hashing::Idle { hasher, len: self.len, chunks: self.chunks }));
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
        // rebuilt from the file's chunks by the next writer (the pending bytes are lost, and
        // the client resumes from the size it is told).
        let mut slots = self.blobs.slots();
        if matches!(slots.get(&self.id), Some(HashingSlot(Hashing::Busy))) {
            slots.remove(&self.id);
        }
    }
}

/// A response body that streams a sealed blob's plaintext, opened chunk by chunk by a task
/// that stays at most [`FRAMES_AHEAD`] frames ahead of the client.
pub struct SealedBody {
    receiver: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    remaining: u64,
}

impl Body for SealedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        match self.receiver.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Some(Err(io::Error::from(io::ErrorKind::UnexpectedEof)))),
            Poll::Ready(Some(Err(error))) => {
                tracing::error!("registry: a blob stopped streaming: {error}");
                self.remaining = 0;
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(Some(Ok(bytes))) => {
                self.remaining = self.remaining.saturating_sub(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
                Poll::Ready(Some(Ok(Frame::data(bytes))))
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

/// A response body that streams a plain file, `CHUNK` bytes a frame (what `ssm::downloads`
/// serves: files Homeport ships, not secrets).
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
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests fail loudly")]

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

    const KEY: [u8; 32] = [9; 32];

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("homeport-blobs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// `count` bytes of a blob from `start`, as a download streams them.
    async fn read(blobs: &Blobs, digest: &Digest, start: u64, count: u64) -> io::Result<Vec<u8>> {
        use http_body_util::BodyExt as _;
        Ok(blobs.body(digest, start, count).collect().await?.to_bytes().to_vec())
    }

    /// Uploads `bytes` in the given pieces (one writer each) and completes the blob.
    async fn push(blobs: &Blobs, id: &str, pieces: &[&[u8]]) -> Digest {
        blobs.start_upload(id).await.unwrap();
        for piece in pieces {
            let mut writer = blobs.writer(id, None).await.unwrap();
            writer.write(piece).await.unwrap();
            writer.finish().await.unwrap();
        }
        let digest = Digest::of(&pieces.concat());
        drop(blobs.complete(id, &digest).await.unwrap());
        digest
    }

    /// A layer-like body: no repeated 8-byte window, so any 8 plaintext bytes on disk show.
    fn layer(len: usize) -> Vec<u8> {
        (0..len).map(|n| u8::try_from((n * 7 + n / 251) % 251).unwrap()).collect()
    }

    #[tokio::test]
    async fn an_upload_becomes_a_blob_only_with_its_digest() {
        let dir = temp_dir("digest");
        let blobs = Blobs::open(&dir, KEY).unwrap();
        let id = "0f0e0d0c-0b0a-4909-a807-060504030201";
        blobs.start_upload(id).await.unwrap();
        let mut writer = blobs.writer(id, Some(0)).await.unwrap();
        writer.write(b"hel").await.unwrap();
        assert_eq!(writer.finish().await.unwrap(), 3);
        assert!(matches!(blobs.writer(id, Some(0)).await, Err(UploadError::OutOfOrder { size: 3 })));
        // A writer dropped mid-way loses what it had not sealed; the hash is rebuilt.
        let mut writer = blobs.writer(id, Some(3)).await.unwrap();
        writer.write(b"lo").await.unwrap();
        drop(writer);
        assert_eq!(blobs.upload_size(id).await.unwrap(), Some(3));
        let mut writer = blobs.writer(id, Some(3)).await.unwrap();
        writer.write(b"lo").await.unwrap();
        writer.finish().await.unwrap();
        let digest = Digest::of(b"hello");
        assert!(!blobs.exists(&digest).await);
        let wrong = Digest::of(b"other");
        let mismatch = blobs.complete(id, &wrong).await;
        assert!(matches!(mismatch, Err(UploadError::DigestMismatch { ref actual }) if *actual == digest));
        assert_eq!(blobs.upload_size(id).await.unwrap(), None, "a refused upload is discarded");
        assert!(!blobs.exists(&wrong).await && !blobs.exists(&digest).await);

        let digest = push(&blobs, id, &[b"hello"]).await;
        assert_eq!(blobs.open_verified(&digest).await.unwrap(), Some(5));
        assert_eq!(blobs.blob_len(&digest).await.unwrap(), Some(5));
        assert_eq!(read(&blobs, &digest, 0, 5).await.unwrap(), b"hello");
        assert_eq!(read(&blobs, &digest, 1, 3).await.unwrap(), b"ell");
        assert_eq!(blobs.upload_size(id).await.unwrap(), None);
        assert_eq!(blobs.open_verified(&Digest::of(b"never")).await.unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn layers_are_sealed_on_disk_and_stream_back_whole_and_by_range() {
        let dir = temp_dir("sealed");
        let blobs = Blobs::open(&dir, KEY).unwrap();
        let bytes = layer(3 * CHUNK + 1234);
        // Pieces that end mid-chunk, as separate requests do.
        let (first, rest) = bytes.split_at(CHUNK + 10);
        let (second, third) = rest.split_at(CHUNK / 2);
        let digest = push(&blobs, "0f0e0d0c-0b0a-4909-a807-060504030202", &[first, second, third]).await;
        let on_disk = std::fs::read(blobs.blob_path(&digest)).unwrap();
        assert!(on_disk.starts_with(SEALED_MAGIC));
        for window in bytes.chunks(997) {
            let probe = window.get(..8).unwrap();
            assert!(!on_disk.windows(8).any(|w| w == probe), "plaintext found on disk");
        }
        let len = u64::try_from(bytes.len()).unwrap();
        assert_eq!(blobs.open_verified(&digest).await.unwrap(), Some(len));
        assert_eq!(read(&blobs, &digest, 0, len).await.unwrap(), bytes);
        for (start, count) in [(1, 10), (u64::try_from(CHUNK).unwrap() + 9, 5000), (len - 7, 7), (70_000, 100_000)] {
            let expected = bytes.get(usize::try_from(start).unwrap()..usize::try_from(start + count).unwrap()).unwrap();
            assert_eq!(read(&blobs, &digest, start, count).await.unwrap(), expected, "{start}+{count}");
        }
        // Another master key opens nothing.
        let other = Blobs::open(&dir, [1; 32]).unwrap();
        assert_eq!(other.open_verified(&digest).await.unwrap_err().kind(), io::ErrorKind::InvalidData);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_blob_altered_reordered_or_cut_short_is_refused() {
        let dir = temp_dir("tampered");
        let blobs = Blobs::open(&dir, KEY).unwrap();
        let bytes = layer(2 * CHUNK + 100);
        let digest = push(&blobs, "0f0e0d0c-0b0a-4909-a807-060504030203", &[&bytes]).await;
        let path = blobs.blob_path(&digest);
        let good = std::fs::read(&path).unwrap();
        let record = 4 + CHUNK + CHUNK_TAG_LEN;
        let header = usize::try_from(HEADER_LEN).unwrap();
        let mut flipped = good.clone();
        *flipped.get_mut(header + record + 100).unwrap() ^= 1;
        let mut swapped = good.clone();
        let (first, second) = (header..header + record, header + record..header + 2 * record);
        let copy = good.get(first.clone()).unwrap().to_vec();
        swapped.get_mut(first).unwrap().copy_from_slice(good.get(second.clone()).unwrap());
        swapped.get_mut(second).unwrap().copy_from_slice(&copy);
        let without_final = good.get(..good.len() - 4 - CHUNK_TAG_LEN).unwrap().to_vec();
        let cut_mid_chunk = good.get(..header + record + 50).unwrap().to_vec();
        let mut appended = good.clone();
        appended.extend_from_slice(&[0, 0, 0, 0]);
        for (what, contents) in [
            ("a flipped bit", flipped),
            ("two chunks swapped", swapped),
            ("the final chunk dropped", without_final),
            ("cut mid-chunk", cut_mid_chunk),
            ("bytes after the end", appended),
            ("no header", b"plain layer bytes".to_vec()),
        ] {
            std::fs::write(&path, &contents).unwrap();
            let error = blobs.open_verified(&digest).await.expect_err(what);
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{what}: {error}");
        }
        // Altered while it streams: the body ends with an error before the altered chunk.
        let mut flipped = good.clone();
        *flipped.get_mut(header + record + 100).unwrap() ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        let len = u64::try_from(bytes.len()).unwrap();
        assert!(read(&blobs, &digest, 0, len).await.is_err());
        std::fs::write(&path, &good).unwrap();
        assert_eq!(read(&blobs, &digest, 0, len).await.unwrap(), bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_upload_cut_mid_chunk_keeps_the_chunks_before_the_cut() {
        let dir = temp_dir("torn");
        let id = "0f0e0d0c-0b0a-4909-a807-060504030204";
        let bytes = layer(CHUNK + 10);
        {
            let blobs = Blobs::open(&dir, KEY).unwrap();
            blobs.start_upload(id).await.unwrap();
            let mut writer = blobs.writer(id, None).await.unwrap();
            writer.write(&bytes).await.unwrap();
            writer.finish().await.unwrap();
        }
        // A crash while the second chunk was written: half of it on disk.
        let path = dir.join("registry/sealed/uploads").join(id);
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, full.get(..full.len() - 8).unwrap()).unwrap();
        let blobs = Blobs::open(&dir, KEY).unwrap();
        assert_eq!(blobs.upload_size(id).await.unwrap(), Some(u64::try_from(CHUNK).unwrap()));
        let mut writer = blobs.writer(id, Some(u64::try_from(CHUNK).unwrap())).await.unwrap();
        writer.write(bytes.get(CHUNK..).unwrap()).await.unwrap();
        writer.finish().await.unwrap();
        let digest = Digest::of(&bytes);
        drop(blobs.complete(id, &digest).await.unwrap());
        assert_eq!(read(&blobs, &digest, 0, u64::try_from(bytes.len()).unwrap()).await.unwrap(), bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn blobs_stored_before_encryption_are_sealed_at_start() {
        let dir = temp_dir("legacy");
        let bytes = layer(CHUNK * 2);
        let digest = Digest::of(&bytes);
        let legacy = dir.join("registry/blobs/sha256").join(digest.hex().get(..2).unwrap());
        std::fs::create_dir_all(&legacy).unwrap();
        std::fs::write(legacy.join(digest.hex()), &bytes).unwrap();
        let rotten = Digest::of(b"what it was");
        std::fs::write(legacy.join(rotten.hex()), b"what it is now").unwrap();
        std::fs::create_dir_all(dir.join("registry/uploads")).unwrap();
        std::fs::write(dir.join("registry/uploads/0f0e0d0c-0b0a-4909-a807-060504030205"), b"partial").unwrap();

        let blobs = Blobs::open(&dir, KEY).unwrap();
        assert!(!legacy.join(digest.hex()).exists(), "the plaintext is gone");
        let len = u64::try_from(bytes.len()).unwrap();
        assert_eq!(blobs.open_verified(&digest).await.unwrap(), Some(len));
        assert_eq!(read(&blobs, &digest, 0, len).await.unwrap(), bytes);
        assert!(!dir.join("registry/uploads").exists(), "plaintext uploads are dropped");
        // A file that no longer hashes to its name is left where it was, never served.
        assert!(legacy.join(rotten.hex()).exists());
        assert_eq!(blobs.open_verified(&rotten).await.unwrap(), None);
        // Opening again changes nothing.
        let again = Blobs::open(&dir, KEY).unwrap();
        assert_eq!(read(&again, &digest, 0, len).await.unwrap(), bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
