"""The one decode pass: every frame handed on at output size, thumbnails bounded, measures per
frame, and material above 1920 px analysed downscaled but reported in output pixels."""
from __future__ import annotations

import numpy as np
import pytest

import avatar_material as gen
from dhsdk.avatar.analyze import MAX_THUMBS, FrameMeasures, analyze, measure_frame
from dhsdk.avatar.material import open_material
from dhsdk.geometry import ANCHOR_IDS, apply_affine


def test_every_frame_is_handed_on(moving_clip):
    seen = []
    a = analyze(open_material(moving_clip.path), lambda f: seen.append(f.shape), show_progress=False)
    assert len(seen) == a.frames == 100 and set(seen) == {(512, 384, 3)}
    assert a.size == (384, 512)
    assert 0 < len(a.thumbs) <= MAX_THUMBS and a.thumbs[0][0] == 0
    assert all(t.shape[0] == round(512 * a.thumb_scale) for _, t in a.thumbs)
    for key, arr in a.measures.items():
        assert len(arr) == 100, key
    assert np.isfinite(a.measures["sharpness"]).all() and np.isfinite(a.measures["face_desc"]).all()
    assert a.faces.tolist()[::12] == [1] * 9 and (a.faces[1:12] == -1).all()
    assert a.audio is None and a.seconds > 0


def test_4k_video_is_analysed_at_1920_and_kept_at_3840(tmp_path):
    """4096x2304: output frames 3840x2160 (the base frames' cap), analysis at 1920x1080; the
    track comes back in output pixels."""
    size = (4096, 2304)
    affines = gen.moving_affines(8, 25.0, size, face_px=900.0, amplitude=0.3)
    path = gen.write_video(tmp_path / "uhd.mp4", (gen.warp(gen.astronaut(), a, size) for a in affines), crf=23)
    shapes = []
    a = analyze(open_material(path), lambda f: shapes.append(f.shape), show_progress=False)
    assert a.size == (3840, 2160) and set(shapes) == {(2160, 3840, 3)}
    s = 3840 / 4096
    truth = np.stack([apply_affine(np.diag([s, s]) @ m, gen.astronaut_mesh()) for m in affines])
    ids = list(ANCHOR_IDS)
    eye = np.linalg.norm(truth[:, 263] - truth[:, 33], axis=1).mean() / 1.44
    err = np.linalg.norm(a.track.landmarks[:, ids] - truth[:, ids], axis=-1).mean() / eye
    assert err < 0.03
    assert a.face_height[0] == pytest.approx(900 * s, rel=0.15)   # detector boxes in output pixels too


def test_measure_frame_on_known_images():
    m = FrameMeasures()
    grey = np.full((100, 100, 3), 128, np.uint8)
    measure_frame(grey, None, m)
    assert m.brightness[-1] == pytest.approx(128 / 255) and m.highlights[-1] == 0 and m.shadows[-1] == 0
    assert np.isnan(m.sharpness[-1]) and np.isnan(m.face_desc[-1]).all() and np.isnan(m.lip_contrast[-1])
    black = np.zeros((100, 100, 3), np.uint8)
    measure_frame(black, None, m)
    assert m.shadows[-1] == 1.0 and m.brightness[-1] == 0.0
    # a face: sharpness is measured on the face box at 128 px, so it does not depend on its size
    import cv2

    photo = np.asarray(gen.astronaut())
    mesh = gen.astronaut_mesh()
    measure_frame(photo, mesh, m)
    big = cv2.resize(photo, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    measure_frame(big, mesh * 2, m)
    assert m.sharpness[-1] == pytest.approx(m.sharpness[-2], rel=0.35)
    # the lips are redder than the skin around them, at any size
    assert m.lip_contrast[-1] > 3 and m.lip_contrast[-1] == pytest.approx(m.lip_contrast[-2], rel=0.2)


def test_the_decode_pass_holds_no_frames(tmp_path):
    """Ten minutes of 1080p must fit in memory: while the pass runs (decode, track, measure,
    write the frame store), the memory it holds grows by each frame's numbers only (its mesh
    and measures: 6.3 KB measured) and the contact sheet's thumbnails (at most MAX_THUMBS in
    all), never by a frame (590 KB here, 6 MB at 1080p). tracemalloc sees numpy's and OpenCV's
    arrays; mediapipe's graphs are a fixed cost outside it."""
    import tracemalloc

    from dhsdk.avatar.framestore import FrameStoreWriter

    clip = gen.moving_portrait(tmp_path / "clip.mp4", 1.6, 25.0, (384, 512))
    writer = FrameStoreWriter(tmp_path / "frames.jpg")
    held: list[int] = []

    def on_frame(frame):
        writer.add(frame)
        held.append(tracemalloc.get_traced_memory()[0])

    tracemalloc.start()
    try:
        a = analyze(open_material(clip.path), on_frame, show_progress=False)
    finally:
        tracemalloc.stop()
        writer.close()
    assert len(held) == a.frames == 40
    thumbs = sum(t.nbytes for i, t in a.thumbs if 10 < i < len(held))
    per_frame = (held[-1] - held[10] - thumbs) / (len(held) - 11)
    assert per_frame < 16 * 1024, f"{per_frame / 1024:.0f} KB held per frame"
