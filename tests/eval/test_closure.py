"""Lip closure on p/b/m (dhsdk/eval/closure.py): hand-made phone lists with a known answer, the
file formats, and the real GRID speaker, who closes on every bilabial."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.audio.phones import Phone
from dhsdk.errors import InputError
from dhsdk.eval.closure import load_phones, pbm_closure, read_grid_words, read_phone_table

FPS = 25.0       # frame k covers [0.04 k, 0.04 (k + 1)), centre 0.04 k + 0.02


def test_closure_counts_frames_and_phones():
    opening = np.full(50, 0.12)
    opening[[10, 11, 31]] = 0.01          # closed frames
    phones = [Phone(0.0, 0.38, "SIL"), Phone(0.38, 0.50, "B"),     # frames 9, 10, 11: 2 of 3 closed
              Phone(0.50, 0.70, "AA"), Phone(0.70, 0.79, "P"),     # frames 17, 18, 19: open
              Phone(1.23, 1.25, "M"),                              # no frame centre inside: nearest (31), closed
              Phone(1.60, 1.70, "m")]                              # lower case counts: frames 40, 41, open
    r = pbm_closure(opening, FPS, phones, closed_gap=0.05)
    assert r["frames"] == 3 + 3 + 1 + 2
    assert r["frames_closed"] == pytest.approx(3 / 9)
    assert r["phones"] == 4 and r["phones_closed"] == pytest.approx(2 / 4)
    np.testing.assert_array_equal(np.flatnonzero(r["unclosed"]), [9, 17, 18, 19, 40, 41])


def test_a_long_closure_is_judged_on_its_end():
    """The aligner may stretch an utterance-initial P over the pause before it: only its last
    0.2 s (before the release) counts."""
    opening = np.full(40, 0.1)
    opening[10:14] = 0.0                              # lips shut 0.40-0.56 s, open before (breath)
    r = pbm_closure(opening, FPS, [Phone(0.0, 0.56, "P")], 0.05)
    assert r["frames"] == 5 and r["frames_closed"] == pytest.approx(4 / 5)   # frames 9..13
    assert r["phones_closed"] == 1.0


def test_closure_tolerates_half_a_frame_and_ignores_lost_faces():
    opening = np.full(40, 0.1)
    opening[9] = 0.0                          # closes one frame before the phone's first frame centre
    phones = [Phone(0.39, 0.46, "P")]         # frames 10 (centre .42)... the lips shut at frame 9 (ends .40)
    r = pbm_closure(opening, FPS, phones, 0.05)
    assert r["phones_closed"] == 1.0 and r["frames_closed"] == 0.0
    valid = np.ones(40, bool)
    valid[10] = False
    r = pbm_closure(opening, FPS, phones, 0.05, valid)
    assert r["frames"] == 0 and np.isnan(r["frames_closed"])
    assert pbm_closure(opening, FPS, [Phone(5.0, 5.1, "B")], 0.05)["phones"] == 0   # after the video


def test_read_grid_words_and_phone_tables(tmp_path):
    grid = tmp_path / "x.align"
    grid.write_text("0 16000 sil\n16000 21250 bin\n21250 26750 blue\n\n26750 74500 sil\n")
    assert read_grid_words(grid) == [(0.64, 0.85, "bin"), (0.85, 1.07, "blue")]
    table = tmp_path / "p.tsv"
    table.write_text("# start end label\n0.00\t0.30\tSIL\n0.30 0.41 B\n\n0.41\t0.55\tAA1\n")
    assert read_phone_table(table) == [Phone(0.0, 0.3, "SIL"), Phone(0.3, 0.41, "B"), Phone(0.41, 0.55, "AA")]
    assert load_phones(None, align_file=table) == read_phone_table(table)
    with pytest.raises(InputError, match="no audio"):
        load_phones(None, text="bin blue")
    assert load_phones(np.zeros(1600, np.float32)) is None


@pytest.mark.parametrize("name, text, reader, match", [
    ("bad.align", "0 1.5 bin\n", read_grid_words, "bad.align:1"),
    ("bad.tsv", "0.3 B\n", read_phone_table, "bad.tsv:1.*start end label"),
    ("back.tsv", "0.5 0.4 P\n", read_phone_table, "ends"),
])
def test_malformed_files_name_the_line(tmp_path, name, text, reader, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        reader(path)


def test_real_speaker_closes_on_bilabials(grid_clip, grid_in_sync):
    """GRID's .align words, force-aligned to the audio: "place blue by" has P, B, B. The real
    speaker's lips close on every one of them (audio priming undone so phones and picture agree)."""
    from dhsdk.eval.evaluate import load_clip

    video, align = grid_clip
    clip = load_clip(grid_in_sync, align=align)
    labels = [p.label for p in clip.phones]
    assert labels.count("P") >= 1 and labels.count("B") >= 2
    p = next(p for p in clip.phones if p.label == "P")
    release = read_grid_words(align)[0][0] + 0.1     # GRID: "place" starts at 0.42 s
    assert abs(p.end - release) < 0.1, p             # the P ends at its release
    r = pbm_closure(clip.track.opening, clip.track.fps, clip.phones, clip.closed_gap)
    assert r["phones"] >= 3 and r["phones_closed"] == 1.0
    assert r["frames_closed"] >= 0.6, r
