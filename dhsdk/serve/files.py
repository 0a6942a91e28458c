"""Uploads and results on disk: typed by content, size-limited, checksummed, atomic.

An upload streams into ``<data>/tmp`` while its SHA-256 is computed, is fsynced, and only then
renamed to ``<data>/files/<tenant>/<file id><ext>`` and recorded in the database; a file is
served only through its database row, after checking that it is still the size that was
recorded. So a crash mid-upload leaves a temporary file (swept at the next start), never a
half-written file anyone can fetch. Names on disk come from server-made ids and the sniffed
type, never from the client: a path in an upload's name cannot go anywhere.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from dhsdk.errors import InputError

CHUNK = 1 << 20


class UploadError(InputError):
    """An upload refused; ``status`` is the HTTP status to answer (413 too large, 415 type)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class FileType:
    """A sniffed file type."""

    ext: str
    mime: str
    kind: str   # "video" | "image" | "audio"


def sniff(head: bytes) -> FileType | None:
    """The type of a file from its first bytes (at least 64 for containers), or None.

    Recognises JPEG, PNG, WebP, MP4/MOV/M4A (ISO BMFF ``ftyp``), Matroska/WebM, WAV, Ogg,
    FLAC, MP3 and ADTS AAC.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return FileType(".jpg", "image/jpeg", "image")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType(".png", "image/png", "image")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileType(".webp", "image/webp", "image")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return FileType(".wav", "audio/wav", "audio")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return FileType(".mov", "video/quicktime", "video")
        if brand in (b"M4A ", b"M4B "):
            return FileType(".m4a", "audio/mp4", "audio")
        return FileType(".mp4", "video/mp4", "video")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return FileType(".webm", "video/webm", "video") if b"webm" in head[:64] else \
            FileType(".mkv", "video/x-matroska", "video")
    if head.startswith(b"OggS"):
        return FileType(".ogg", "audio/ogg", "audio")
    if head.startswith(b"fLaC"):
        return FileType(".flac", "audio/flac", "audio")
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return FileType(".mp3", "audio/mpeg", "audio")
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
        return FileType(".aac", "audio/aac", "audio")
    return None


# what each upload role accepts: sniffed kinds (a video container may carry only audio)
ROLES = {"material": ("video", "image"), "audio": ("audio", "video")}


class FileStore:
    """The service's files under one data directory.

    Args:
        root: the data directory.
        store: the :class:`~dhsdk.serve.db.Store` that records them.
    """

    def __init__(self, root: str | os.PathLike, store: Any):
        self.root = Path(root).resolve()
        self.store = store
        self.tmp = self.root / "tmp"
        for sub in ("tmp", "files", "avatars", "renders"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def sweep(self) -> int:
        """Delete what interrupted uploads and jobs left in ``tmp`` (at start); returns how many."""
        n = 0
        for p in self.tmp.iterdir():
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            n += 1
        return n

    def tenant_dir(self, area: str, tenant_id: str) -> Path:
        """``<data>/<area>/<tenant id>`` (created): where a tenant's avatars, renders, files go."""
        d = self.root / area / tenant_id
        d.mkdir(parents=True, exist_ok=True)
        return d

    def save_upload(self, tenant_id: str, role: str, src: BinaryIO, name: str, limit: int) -> dict[str, Any]:
        """Store an uploaded file.

        Args:
            tenant_id: the owner.
            role: ``"material"`` (a video or photo) or ``"audio"``.
            src: the uploaded bytes (read in 1 MiB blocks).
            name: the client's file name (recorded, never used as a path).
            limit: largest size accepted, bytes.

        Returns:
            the file's database row.

        Raises:
            UploadError: empty, too large (413), or not a type ``role`` accepts (415).
        """
        from dhsdk.serve.db import new_id

        head = src.read(64)
        if not head:
            raise UploadError(f"{role} upload {name!r} is empty: send the file's bytes")
        ftype = sniff(head)
        if ftype is None or ftype.kind not in ROLES[role]:
            what = "a video (mp4, mov, webm, mkv) or a photo (jpg, png, webp)" if role == "material" else \
                "audio (wav, mp3, m4a, ogg, flac, aac) or a video with sound"
            raise UploadError(f"{role} upload {name!r} is not {what}", status=415)
        digest = hashlib.sha256(head)
        size = len(head)
        fd, tmp = tempfile.mkstemp(prefix="upload.", suffix=ftype.ext, dir=self.tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(head)
                while block := src.read(CHUNK):
                    size += len(block)
                    if size > limit:
                        raise UploadError(f"{role} upload {name!r} is larger than the limit of "
                                          f"{limit / (1 << 20):.0f} MiB: send a shorter or smaller file", status=413)
                    digest.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            file_id = new_id("f")
            dest = self.tenant_dir("files", tenant_id) / f"{file_id}{ftype.ext}"
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.store.insert("files", id=file_id, tenant_id=tenant_id, kind=role, name=name[:300],
                                 path=str(dest.relative_to(self.root)), size=size, sha256=digest.hexdigest(),
                                 content_type=ftype.mime)

    def register(self, tenant_id: str, role: str, path: str | os.PathLike, content_type: str,
                 name: str = "") -> dict[str, Any]:
        """Record a complete file a job wrote (atomically) under the data directory."""
        from dhsdk.paths import file_sha256
        from dhsdk.serve.db import new_id

        path = Path(path).resolve()
        rel = path.relative_to(self.root)  # raises for anything outside
        return self.store.insert("files", id=new_id("f"), tenant_id=tenant_id, kind=role, name=name or path.name,
                                 path=str(rel), size=path.stat().st_size, sha256=file_sha256(path),
                                 content_type=content_type)

    def path(self, row: dict[str, Any]) -> Path:
        """The file of a database row, checked: inside the data directory and of the recorded size.

        Raises:
            FileNotFoundError: gone or not what was recorded (never served half-written).
        """
        p = (self.root / row["path"]).resolve()
        if not p.is_relative_to(self.root) or not p.is_file() or p.stat().st_size != row["size"]:
            raise FileNotFoundError(f"{row['id']} is missing or damaged on disk")
        return p

    def remove(self, row: dict[str, Any]) -> None:
        """Delete a file and its row."""
        p = (self.root / row["path"]).resolve()
        if p.is_relative_to(self.root):
            p.unlink(missing_ok=True)
        self.store.delete("files", row["id"])
