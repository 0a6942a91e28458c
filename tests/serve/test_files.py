"""Uploads: typed by their content, limited in size, checksummed, written atomically; names
from the client never become paths; a file on disk that is not what was recorded is never
served."""
from __future__ import annotations

import hashlib
import io

import pytest

from dhsdk.serve.files import FileStore, UploadError, sniff


@pytest.mark.parametrize("head,ext,kind", [
    (b"\xff\xd8\xff\xe0" + b"\0" * 60, ".jpg", "image"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 56, ".png", "image"),
    (b"RIFF\0\0\0\0WEBPVP8 " + b"\0" * 48, ".webp", "image"),
    (b"RIFF\0\0\0\0WAVEfmt " + b"\0" * 48, ".wav", "audio"),
    (b"\0\0\0\x20ftypisom" + b"\0" * 52, ".mp4", "video"),
    (b"\0\0\0\x14ftypqt  " + b"\0" * 52, ".mov", "video"),
    (b"\0\0\0\x20ftypM4A " + b"\0" * 52, ".m4a", "audio"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm" + b"\0" * 50, ".webm", "video"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01matroska" + b"\0" * 46, ".mkv", "video"),
    (b"OggS" + b"\0" * 60, ".ogg", "audio"),
    (b"fLaC" + b"\0" * 60, ".flac", "audio"),
    (b"ID3\x04" + b"\0" * 60, ".mp3", "audio"),
])
def test_sniff_recognises_the_container_from_its_bytes(head, ext, kind):
    t = sniff(head)
    assert t is not None and (t.ext, t.kind) == (ext, kind)


@pytest.mark.parametrize("head", [b"", b"<html><script>", b"#!/bin/sh\nrm -rf /", b"PK\x03\x04zipfile" + b"\0" * 50])
def test_sniff_refuses_what_is_not_media(head):
    assert sniff(head) is None


@pytest.fixture
def files(make_api):
    api = make_api()
    return api.service.files


def test_an_upload_is_stored_whole_with_its_sha256_under_a_server_made_name(files, portrait_png):
    data = portrait_png.read_bytes()
    row = files.save_upload("ten_x", "material", io.BytesIO(data), "../../etc/passwd.png", limit=len(data))
    path = files.path(row)
    assert path.read_bytes() == data and row["size"] == len(data)
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert path.parent == files.root / "files" / "ten_x" and path.name == f"{row['id']}.png"
    assert row["name"] == "../../etc/passwd.png"               # kept as a label only
    assert list(files.tmp.iterdir()) == []


def test_too_large_and_wrong_type_uploads_leave_nothing(files, portrait_png):
    data = portrait_png.read_bytes()
    with pytest.raises(UploadError) as e:
        files.save_upload("ten_x", "material", io.BytesIO(data), "big.png", limit=len(data) - 1)
    assert e.value.status == 413 and "limit" in str(e.value)
    with pytest.raises(UploadError) as e:
        files.save_upload("ten_x", "audio", io.BytesIO(data), "photo.png", limit=1 << 30)
    assert e.value.status == 415
    with pytest.raises(UploadError) as e:
        files.save_upload("ten_x", "material", io.BytesIO(b""), "empty.mp4", limit=1 << 30)
    assert e.value.status == 400
    assert list(files.tmp.iterdir()) == [] and not any((files.root / "files").rglob("*.*"))


class Exploding(io.BytesIO):
    """A client that disconnects half-way through its upload."""

    def read(self, n=-1):
        if self.tell() > 1000:
            raise ConnectionResetError("client went away")
        return super().read(min(n, 600) if n and n > 0 else 600)


def test_an_interrupted_upload_leaves_no_file_and_no_row(files, portrait_png):
    with pytest.raises(ConnectionResetError):
        files.save_upload("ten_x", "material", Exploding(portrait_png.read_bytes()), "p.png", limit=1 << 30)
    assert list(files.tmp.iterdir()) == [] and not any((files.root / "files").rglob("*.*"))
    assert files.store.list("files", "ten_x") == []


def test_a_file_changed_on_disk_is_not_served(shared_api):
    api = shared_api
    sheet = api.get(f"/v1/avatars/{api.avatar}/review.png")
    assert sheet.status_code == 200 and sheet.content.startswith(b"\x89PNG")
    assert sheet.headers["etag"] == f'"{hashlib.sha256(sheet.content).hexdigest()}"'
    row = api.service.store.get("files", api.service.store.get("avatars", api.avatar)["sheet_id"])
    path = api.service.files.path(row)
    original = path.read_bytes()
    try:
        path.write_bytes(original[: len(original) // 2])     # half-written (or damaged) on disk
        r = api.get(f"/v1/avatars/{api.avatar}/review.png")
        assert r.status_code == 410 and not r.content.startswith(b"\x89PNG")
    finally:
        path.write_bytes(original)


def test_sweep_removes_leftovers_of_interrupted_uploads(tmp_path):
    class NoStore:
        pass

    files = FileStore(tmp_path, NoStore())
    (files.tmp / "upload.abc.mp4").write_bytes(b"half")
    (files.tmp / ".bundle.tmp").mkdir()
    assert files.sweep() == 2 and list(files.tmp.iterdir()) == []
