"""Head swap and driving: per-frame time at 720x1280 on this machine, and the quality numbers.

Timing (interleaved rounds, medians; ``timing.interleaved``), on stock frames fitted to 720x1280
(scaled to cover and cropped: ../shared/data/sun.mp4 when present, else the generated stock clip
of tests/swap/swap_material.py):

- ``swap``: one swapped frame (:class:`dhsdk.swap.compose.FaceSwapper`: retarget, raster, two
  remaps, colour gains, occlusion, multi-band blend), excluding decoding and tracking;
- ``paste`` (same-run baseline): the photo moved by one similarity onto the stock face and pasted
  through the face outline, hard edged, no colour match (the simplest face paste);
- ``mesh``: the stock face's mesh per frame (mediapipe in tracking mode), which a live swap adds;
- ``drive_warp``: the driver's warp of one 720x1280 frame (:func:`dhsdk.swap.drive.warp_face`).

Quality, on the first ``--frames`` frames of each stock clip (astronaut photo): identity (share of
frames whose re-tracked face is closer to the photo than to the stock face, and the median
distances), seam energy at the blend border against the stock's own and against the plain paste,
temporal flicker against the stock face's. ``--drive`` adds the default avatar driven by GRID
clips: blink recall/precision, yaw/pitch and gaze correlation, per-frame time.

Prints one JSON line per section (``timing.emit``, machine facts attached).
``python benchmarks/bench_swap.py [--frames 100] [--drive 8] [--stock PATH ...]``
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT), str(ROOT / "tests" / "swap")]
from timing import emit, interleaved  # noqa: E402

SIZE = (720, 1280)   # width, height: a vertical live-commerce frame
SHARED = ROOT.parent / "shared" / "data"


def cover(frame: np.ndarray, points: np.ndarray | None, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """``frame`` scaled to cover ``size`` and cropped around its centre; ``points`` moved alike."""
    import cv2

    h, w = frame.shape[:2]
    s = max(size[0] / w, size[1] / h)
    big = cv2.resize(frame, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_CUBIC)
    x0, y0 = (big.shape[1] - size[0]) // 2, (big.shape[0] - size[1]) // 2
    out = np.ascontiguousarray(big[y0:y0 + size[1], x0:x0 + size[0]])
    return out, None if points is None else points * s - [x0, y0]


def plain_paste(face, frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The baseline: the photo moved by the similarity that aligns its eyes and nose with the stock
    face's, pasted through the stock face's outline with a hard edge."""
    import cv2

    from dhsdk.geometry import compose_affine, image_to_canonical, invert_affine
    from dhsdk.swap.topology import OVAL_IDS

    m = compose_affine(invert_affine(image_to_canonical(landmarks)), image_to_canonical(face.points))
    h, w = frame.shape[:2]
    moved = cv2.warpAffine(face.image, m, (w, h), flags=cv2.INTER_LINEAR)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(OVAL_IDS)] * 16).astype(np.int32)], 1, shift=4)
    return np.where(mask[..., None] > 0, moved, frame)


def stock_frames(path: Path, count: int) -> tuple[list[np.ndarray], object]:
    """The first ``count`` frames of a clip and its stock track."""
    from dhsdk.avatar.material import open_material
    from dhsdk.swap.video import track_stock

    stock = track_stock(open_material(path), show_progress=False)
    frames = [f for _, f in zip(range(count), open_material(path).frames())]
    return frames, stock


def timing(face, clip: Path, rounds: int) -> dict:
    """Per-frame times at 720x1280 (interleaved rounds)."""
    from dhsdk.avatar.face import FaceMesh478
    from dhsdk.swap import topology as topo
    from dhsdk.swap.compose import FaceSwapper
    from dhsdk.swap.drive import warp_face
    from dhsdk.swap.occlusion import OcclusionModel

    frames, stock = stock_frames(clip, 40)
    fitted = [cover(f, stock.driving()[k].astype(np.float64), SIZE) for k, f in enumerate(frames)]
    swapper = FaceSwapper(face, stock.neutral(), occlusion=OcclusionModel.fit(stock.colours))
    mesh = FaceMesh478(static=False)
    tris = np.concatenate([topo.face_triangles(), topo.band_triangles()])
    state = {"k": 0}

    def nxt():
        state["k"] = (state["k"] + 1) % len(fitted)
        return fitted[state["k"]]

    def drive_warp():
        frame, lm = nxt()
        target, rings = swapper.target(lm)
        src = np.concatenate([lm, topo.ring_points(lm)])
        return warp_face(frame, src, np.concatenate([target, src[topo.N_MESH:]]), tris)

    cases = {"swap": lambda: swapper(*nxt()), "paste": lambda: plain_paste(face, *nxt()),
             "mesh": lambda: mesh.landmarks(nxt()[0]), "drive_warp": drive_warp}
    result = interleaved(cases, rounds=rounds, repeat=8)
    mesh.close()
    eye = float(np.median([np.linalg.norm(lm[468] - lm[473]) for _, lm in fitted]))
    return {"size": list(SIZE), "stock": clip.name, "eye_px": round(eye, 1), **result,
            "swap_fps": round(1e3 / result["swap"]["median_ms"], 1),
            "live_fps": round(1e3 / (result["swap"]["median_ms"] + result["mesh"]["median_ms"]), 1)}


def quality(face, clip: Path, count: int) -> dict:
    """Identity, seam and flicker on the first ``count`` frames of ``clip``."""
    from dhsdk.avatar.face import FaceMesh478
    from dhsdk.swap import metrics
    from dhsdk.swap.compose import FaceSwapper
    from dhsdk.swap.occlusion import OcclusionModel

    frames, stock = stock_frames(clip, count)
    driving = stock.driving()
    swapper = FaceSwapper(face, stock.neutral(), occlusion=OcclusionModel.fit(stock.colours))
    seam, seam_stock, seam_paste, luma, luma_stock, tracked = [], [], [], [], [], []
    spent = 0.0
    with FaceMesh478(static=False) as mesh:
        for k, frame in enumerate(frames):
            lm = driving[k].astype(np.float64)
            t0 = time.perf_counter()
            r = swapper(frame, lm)
            spent += time.perf_counter() - t0
            luma.append(metrics.vertex_luma(r.image, r.points))
            luma_stock.append(metrics.vertex_luma(frame, lm))
            tracked.append(mesh.landmarks(r.image))
            if k % 5 == 0:
                seam.append(metrics.seam_energy(r.image, r.weight, r.box))
                seam_stock.append(metrics.seam_energy(frame, r.weight, r.box))
                seam_paste.append(metrics.seam_energy(plain_paste(face, frame, lm), r.weight, r.box))
    found = [k for k, t in enumerate(tracked) if t is not None]
    to_photo, to_stock = metrics.identity_distances(np.stack([tracked[k] for k in found]), face.points,
                                                    stock.track.landmarks[found])
    return {"stock": clip.name, "frames": len(frames), "size": [frames[0].shape[1], frames[0].shape[0]],
            "ms_per_frame": round(1e3 * spent / len(frames), 2),
            "identity": {"closer_to_photo": round(float(np.mean(to_photo < to_stock)), 3),
                         "to_photo": round(float(np.median(to_photo)), 4),
                         "to_stock": round(float(np.median(to_stock)), 4)},
            "seam": {"swap": round(float(np.nanmedian(seam)), 3), "stock": round(float(np.nanmedian(seam_stock)), 3),
                     "plain_paste": round(float(np.nanmedian(seam_paste)), 3)},
            "flicker": {"swap": round(metrics.flicker(np.stack(luma)), 3),
                        "stock": round(metrics.flicker(np.stack(luma_stock)), 3)}}


def drive(clips: int, tmp: Path) -> dict:
    """The default avatar driven by the first ``clips`` GRID sentences, measured."""
    import swap_material as sm

    from dhsdk.avatar import Avatar
    from dhsdk.swap import metrics
    from dhsdk.swap.drive import Driver

    paths = sorted((SHARED / "grid_s1").glob("*.mp4"))[:clips]
    driver = sm.join_clips(paths, tmp / "driver.mp4")
    out = tmp / "driven.mp4"
    t0 = time.perf_counter()
    result = Driver(Avatar.default(), mouth="warp").render(driver, out, show_progress=False)
    wall = time.perf_counter() - t0
    scores = metrics.drive_scores(metrics.video_meshes(driver), metrics.video_meshes(out))
    return {"driver": f"{clips} GRID clips", "frames": result["frames"],
            "ms_per_frame_end_to_end": round(1e3 * wall / result["frames"], 1),
            **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in scores.items()}}


def main() -> None:
    import swap_material as sm

    from dhsdk.swap.source import face_from_photo

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=100, help="frames of each stock clip for the quality numbers")
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    p.add_argument("--stock", type=Path, nargs="*", help="stock clips (default: sun.mp4, yongen.mp4 and a GRID "
                                                        "clip from ../shared/data, else a generated clip)")
    p.add_argument("--drive", type=int, default=0, help="also drive the default avatar with this many GRID clips")
    args = p.parse_args()
    face = face_from_photo(np.array(sm.gen.astronaut()), name="astronaut")
    with tempfile.TemporaryDirectory(prefix="dhsdk-bench-swap-") as tmp:
        clips = args.stock or [c for c in (SHARED / "sun.mp4", SHARED / "yongen.mp4", SHARED / "grid_s1" / "bbaf2n.mp4")
                               if c.is_file()]
        if not clips:
            clips = [sm.stock_clip(Path(tmp) / "generated_stock.mp4").path]
        emit({"bench": "swap_time", **timing(face, clips[0], args.rounds)})
        for clip in clips:
            emit({"bench": "swap_quality", **quality(face, clip, args.frames)})
        if args.drive:
            emit({"bench": "drive", **drive(args.drive, Path(tmp))})


if __name__ == "__main__":
    main()
