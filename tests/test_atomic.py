"""dhsdk.atomic: outputs appear complete or not at all, destinations are checked before work,
and temporaries of killed runs are cleaned by the next run."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dhsdk import atomic
from dhsdk.atomic import atomic_dir, atomic_file, check_output, clean_stale_temps
from dhsdk.errors import InputError


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def temp_name(dest: str, host: str, pid: int) -> str:
    return f".{dest}.dhsdk-{host}-{pid}-abc123.mp4"


def test_temporaries_name_the_host_and_process(tmp_path):
    with atomic_file(tmp_path / "out.mp4") as tmp:
        assert tmp.name.startswith(f".out.mp4.dhsdk-{atomic._HOST}-{os.getpid()}-") and tmp.suffix == ".mp4"
        tmp.write_bytes(b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_stale_temporaries_of_dead_runs_on_this_host_are_removed(tmp_path):
    pid = dead_pid()
    stale = tmp_path / temp_name("out.mp4", atomic._HOST, pid)
    stale_dir = tmp_path / f".anna.dhsdk-{atomic._HOST}-{pid}-xyz"
    live = tmp_path / temp_name("out.mp4", atomic._HOST, os.getpid())          # this very process
    other_host = tmp_path / temp_name("out.mp4", "another_box", pid)            # a shared disk
    user_file = tmp_path / ".out.mp4.keep"
    for p in (stale, live, other_host, user_file):
        p.write_bytes(b"partial")
    stale_dir.mkdir()
    (stale_dir / "frames.jpg").write_bytes(b"x")
    assert sorted(clean_stale_temps(tmp_path)) == sorted([stale, stale_dir])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other_host.name, user_file.name])


def test_writing_an_output_cleans_the_directory_first(tmp_path):
    stale = tmp_path / temp_name("old.mp4", atomic._HOST, dead_pid())
    stale.write_bytes(b"partial")
    with atomic_file(tmp_path / "new.mp4") as tmp:
        tmp.write_bytes(b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["new.mp4"]


def test_a_failure_leaves_nothing_and_an_existing_file_untouched(tmp_path):
    dest = tmp_path / "out.mp4"
    dest.write_bytes(b"previous")
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(dest) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"] and dest.read_bytes() == b"previous"


def test_check_output_refuses_what_cannot_be_written(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(InputError, match="is a directory; give a file path, e.g. .*out.mp4"):
        check_output(tmp_path)
    with pytest.raises(InputError, match="is a file, not a directory"):
        check_output(tmp_path / "file" / "out.mp4")
    with pytest.raises(InputError, match="does not exist .*mkdir -p"):
        check_output(tmp_path / "nope" / "out.mp4")
    with pytest.raises(InputError, match=r"not enough free space .* free in .*needs about 1000\.0 TB"):
        check_output(tmp_path / "out.mp4", expected_bytes=1e15)
    assert check_output(tmp_path / "out.mp4", expected_bytes=1000) == tmp_path / "out.mp4"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any directory")
def test_check_output_refuses_a_read_only_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(InputError, match="not writable"):
        check_output(ro / "out.mp4")


def test_atomic_dir_replaces_only_when_complete(tmp_path):
    dest = tmp_path / "bundle"
    with atomic_dir(dest) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(dest, force=True) as tmp:
            (tmp / "a").write_text("2")
            raise RuntimeError
    assert (dest / "a").read_text() == "1" and [p.name for p in tmp_path.iterdir()] == ["bundle"]
    with atomic_dir(dest, force=True) as tmp:
        (tmp / "a").write_text("3")
    assert (dest / "a").read_text() == "3" and [p.name for p in tmp_path.iterdir()] == ["bundle"]


def test_human_bytes_reads_like_df():
    assert [atomic.human_bytes(n) for n in (512, 1500, 2.5e9)] == ["512 B", "1.5 kB", "2.5 GB"]
