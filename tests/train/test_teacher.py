"""The teacher's sources and labels: transcription parsing, the machine's real speech, the cache."""
import json
from pathlib import Path

import numpy as np
import pytest

from dhsdk.train import teacher


def test_sphinx_transcriptions(tmp_path):
    f = tmp_path / "transcription"
    f.write_text("<s> he was not an ill disposed young man </s> (book-0880)\n<s> ten of clubs  </s> (001)\n")
    assert teacher._transcripts(f) == {"book-0880": "he was not an ill disposed young man", "001": "ten of clubs"}


def test_default_sources(shared_data):
    sources = teacher.default_sources(shared_data)
    assert {s.path.name: s.mode for s in sources if s.path.parent == shared_data} == {
        "eng.wav": "en", "sun.wav": "any", "yongen.wav": "any"}
    if teacher.POCKETSPHINX_TESTDATA.is_dir():
        aligned = [s for s in sources if s.mode == "align"]
        assert len(aligned) >= 5 and all(s.text and s.path.is_file() for s in aligned)


def test_labels_are_cached(tmp_path, monkeypatch):
    pytest.importorskip("av")
    wav = tmp_path / "a.raw"
    (np.zeros(8000, "<i2")).tofile(wav)
    calls = []
    monkeypatch.setattr(teacher, "label", lambda src: calls.append(src) or [(0.0, 0.5, "SIL")])
    src = teacher.SpeechSource(wav, "any")
    first = teacher.labelled([src], cache=tmp_path / "c", show_progress=False)
    second = teacher.labelled([src], cache=tmp_path / "c", show_progress=False)
    assert len(calls) == 1 and first[0][2] == second[0][2] == [(0.0, 0.5, "SIL")]
    assert first[0][1].shape == (8000,)
    assert json.loads(next(Path(tmp_path / "c").glob("*.json")).read_text()) == [[0.0, 0.5, "SIL"]]


def test_real_reading_is_aligned():
    """A LibriVox reading from Debian's pocketsphinx-testdata gets the phones of its transcript."""
    pytest.importorskip("pocketsphinx")
    sources = [s for s in teacher.default_sources() if s.mode == "align"]
    if not sources:
        pytest.skip("pocketsphinx-testdata is not installed (scripts/install-system-deps.sh installs it)")
    phones = teacher.label(sources[0])
    assert phones[-1][1] == pytest.approx(len(teacher.read_pcm(sources[0].path)) / 16000, abs=0.03)
    assert sum(lab != "SIL" for *_, lab in phones) > 20
