"""Picture quality of the re-rendered mouth (dhsdk/eval/picture.py): the measures on crops with a
known degradation, and a render degraded on purpose (mouth blurred, blend pasted with a hard
edge) against the clean one."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.eval import checks as ck
from dhsdk.eval import picture


@pytest.fixture(scope="module")
def avatar(avatar_dir):
    from dhsdk.avatar import Avatar

    return Avatar.load(avatar_dir)


def test_crop_sizes():
    assert picture.native_side(88.0) == round(1.7 * 88)
    assert picture.crop_size(44.0, 88.0) == round(1.7 * 44)              # the coarser face sets the scale
    assert picture.crop_size(400.0, 500.0) == picture.MAX_SIDE
    assert picture.native_side(10.0) == picture.MIN_SIDE


def test_sharpness_is_continuous_in_the_measuring_size(avatar):
    """Output and source crops go through the same sampling (twice the side, then a 2 x 2 box),
    so one pixel of measuring size changes the reading a little, not by half (sampled at each
    face's own scale, a crop one pixel larger than the size was area-resized and blurred:
    61.8 at 201 px, 34.0 at 200)."""
    a, b = (float(np.nanmedian(picture.source_measures(avatar, picture.sampling_side(s), s)[0]))
            for s in (128, 127))
    assert abs(a - b) < 0.15 * max(a, b), (a, b)


def test_regions_of_the_avatar_mask(avatar):
    mask = avatar.mouth_mask(128)
    parts = picture.regions(mask)
    assert all(parts[k].sum() > 50 for k in ("core", "band", "inner", "outer"))
    assert not (parts["band"] & (parts["inner"] | parts["outer"])).any()
    assert (mask[parts["inner"]] >= 1 - picture.BAND).all() and (mask[parts["outer"]] <= picture.BAND).all()


def test_measures_see_blur_and_a_hard_seam(avatar):
    import cv2

    size = 128
    parts = picture.regions(avatar.mouth_mask(size))
    grey = picture.grey_crop(avatar.frame(0), avatar.canonical_to_crop, avatar.to_canonical[0],
                             picture.native_side(90.0), size)
    sharp, seam = picture.measure(grey, parts)
    blurred = np.where(parts["core"], cv2.GaussianBlur(grey, (0, 0), 2.0), grey)
    assert picture.measure(blurred, parts)[0] < 0.5 * sharp
    pasted = np.where(avatar.mouth_mask(size) > 0.5, np.clip(grey + 30, 0, 255), grey).astype(np.float32)
    assert picture.measure(pasted, parts)[1] > 1.5 * seam
    angle = np.linspace(0, 2 * np.pi, 20)
    lips = np.stack([64 + 20 * np.cos(angle), 64 + 8 * np.sin(angle)], 1)
    dark = grey.copy()
    cv2.fillPoly(dark, [np.round(lips).astype(np.int32)], 10.0)     # an open, dark mouth inside those lips
    assert picture.measure(dark, parts, lips)[0] == pytest.approx(picture.measure(grey, parts, lips)[0], rel=0.35)


def _degrade(track, dst, avatar):
    """Re-encode the tracked video with the re-rendered region blurred and brightened with a hard edge."""
    import av
    import cv2

    from dhsdk.avatar import mouth_region

    src = track.path
    size = 128
    mask = (avatar.mouth_mask(size) > 0.5).astype(np.uint8)
    to_crop = avatar.canonical_to_crop(size)
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = track.size[0], track.size[1], "yuv420p"
        vs.options = {"crf": "12"}
        for t, frame in enumerate(inp.decode(video=0)):
            rgb = frame.to_ndarray(format="rgb24")
            affine = mouth_region.crop_to_frame(to_crop, track.face.to_canonical[t])
            m = cv2.warpAffine(mask, affine, track.size, flags=cv2.INTER_NEAREST).astype(bool)
            bad = np.clip(cv2.GaussianBlur(rgb, (0, 0), 2.5).astype(np.int16) + 25, 0, 255).astype(np.uint8)
            rgb[m] = bad[m]
            out.mux(vs.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(vs.encode(None))
    from eval_media import mux_audio_from

    return mux_audio_from(dst, src)


@pytest.mark.slow
def test_a_degraded_render_is_flagged(tts_render, avatar, eval_dir):
    from dhsdk.eval.evaluate import evaluate
    from dhsdk.eval.lipsync import mouth_track

    groups = [ck.PictureGroup()]
    track = mouth_track(tts_render)
    clean = evaluate(track, avatar=avatar, groups=groups)
    assert clean.check("sharpness").status != "fail" and clean.check("seam").status == "pass", clean.text()
    bad = evaluate(_degrade(track, eval_dir / "degraded.mp4", avatar), avatar=avatar, groups=groups)
    assert bad.check("sharpness").status == "fail", bad.text()
    assert bad.check("seam").status in ("warn", "fail"), bad.text()
    assert bad.metrics["sharpness_ratio"] < 0.7 * clean.metrics["sharpness_ratio"]
    assert bad.metrics["seam_ratio"] > 1.2 * clean.metrics["seam_ratio"]
    assert evaluate(track, groups=groups).check("sharpness").status == "skip"   # no avatar: nothing to compare


def test_a_band_no_busier_than_its_surroundings_is_no_seam():
    """Beauty-filtered footage: the source's band is far smoother than its neighbours (0.40);
    a clean render at 0.65 is still smoother than them and passes, a hard edge (2.0) fails."""
    assert ck.seam_ratio(0.65, 0.40) == pytest.approx(0.65)
    assert ck.grade(ck.seam_ratio(0.65, 0.40), *ck.SEAM, higher_is_better=False) == "pass"
    assert ck.grade(ck.seam_ratio(2.0, 0.40), *ck.SEAM, higher_is_better=False) == "fail"
    assert ck.seam_ratio(1.8, 1.2) == pytest.approx(1.5)   # a busy source band: relative to it
