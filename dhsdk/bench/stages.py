"""Per-stage micro-benchmarks of ``dhsdk bench``: features, a2k, crop, mouth, composite,
color, encode.

Each stage is a function ``stage(ctx) -> dict`` returning ``cases`` (case name -> the
statistics of :func:`dhsdk.bench.timing.summarize`, ms per call), ``ratios`` (name ->
baseline median / dhsdk median, > 1 = dhsdk faster), ``baselines`` (the cases that are not
dhsdk code) and ``notes``. Baselines are timed
interleaved with dhsdk in the same rounds (:func:`dhsdk.bench.timing.interleaved`), so machine
noise hits both alike. :func:`run_stage` turns a missing module into a ``"not available"``
entry with the reason and any other error into a ``"failed"`` entry: it never raises.
"""
from __future__ import annotations

import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dhsdk.bench.timing import interleaved, measure

FRAME_S = 0.04  # one 25 fps video frame of audio


@dataclass
class Context:
    """What every stage needs.

    Attributes:
        device: ``"cpu"`` or ``"cuda"`` (resolved).
        size: output frame (width, height) in pixels.
        mouths: mouth models to time (``"warp"``, ``"lite"``, ``"full"``).
        quick: fewer rounds and sizes (the ``--quick`` run).
        workdir: scratch directory (exported ONNX models, encoded files).
    """

    device: str = "cpu"
    size: tuple[int, int] = (720, 1280)
    mouths: tuple[str, ...] = ("lite",)
    quick: bool = False
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dhsdk-bench-")))

    @property
    def rounds(self) -> int:
        return 3 if self.quick else 5

    def repeat(self, per_call_ms: float) -> int:
        """Calls per round so the slowest case takes ~0.15 s (quick) or ~0.4 s (full) per round."""
        budget = 150.0 if self.quick else 400.0
        return int(np.clip(budget / max(per_call_ms, 1e-3), 3, 200))

    def frame(self) -> np.ndarray:
        """(H, W, 3) uint8 random RGB frame of the output size."""
        w, h = self.size
        return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _ratio(res: dict[str, dict], base: str, ours: str) -> dict[str, Any]:
    """baseline / dhsdk median, with the range implied by the two run-median spreads."""
    b, o = res[base], res[ours]
    return {"value": b["median_ms"] / o["median_ms"],
            "lo": b["spread_ms"][0] / o["spread_ms"][1], "hi": b["spread_ms"][1] / o["spread_ms"][0]}


def _timed(ctx: Context, cases: dict[str, Callable[[], Any]]) -> dict[str, dict]:
    """Interleaved timing with the repeat count sized from one probe call of the slowest case."""
    probe = max(measure(fn, repeat=1, warmup=1)["median_ms"] for fn in cases.values())
    return interleaved(cases, rounds=ctx.rounds, repeat=ctx.repeat(probe), warmup=2)


def features(ctx: Context) -> dict[str, Any]:
    """Log-mel front end: streaming 40 ms push and batch extraction of 10 s of audio."""
    from dhsdk.audio import LogMel, log_mel

    rng = np.random.default_rng(0)
    chunk = rng.normal(0, 0.1, int(16000 * FRAME_S)).astype(np.float32)
    pcm10 = rng.normal(0, 0.1, 160000).astype(np.float32)
    stream = LogMel()
    res = _timed(ctx, {"stream_40ms": lambda: stream.push(chunk), "batch_10s": lambda: log_mel(pcm10)})
    return {"cases": res, "ratios": {}, "baselines": [], "notes": "80 log-mel bins at 100 frames/s; no baseline installed"}


def a2k(ctx: Context) -> dict[str, Any]:
    """Audio -> lip keypoints: streaming push of one frame's audio, one window, a batch of 9,
    ONNX Runtime vs eager torch (the same network and weights) when torch is installed."""
    from dhsdk.models.a2k_runner import WINDOW, A2K

    model = A2K.load(device=ctx.device)
    rng = np.random.default_rng(0)
    chunk = rng.normal(0, 0.1, int(16000 * FRAME_S)).astype(np.float32)
    stream = model.stream(25)
    for _ in range(10):
        stream.push(chunk)
    window = rng.normal(-6, 4, (1, 80, WINDOW)).astype(np.float32)
    batch9 = np.repeat(window, 9, 0)
    cases: dict[str, Callable[[], Any]] = {"stream_40ms": lambda: stream.push(chunk),
                                           "model_1": lambda: model.infer(window),
                                           "model_9": lambda: model.infer(batch9)}
    notes = "ONNX Runtime, 1 intra-op thread"
    try:
        import torch

        from dhsdk.models.a2k import from_onnx
        from dhsdk.models.a2k_runner import DEFAULT_PATH

        net = from_onnx(DEFAULT_PATH)   # the same network, eager
        t1, t9 = torch.from_numpy(window), torch.from_numpy(batch9)

        def eager(x):
            with torch.inference_mode():
                return net(x)

        cases["torch_model_1"] = lambda: eager(t1)
        cases["torch_model_9"] = lambda: eager(t9)
    except ImportError as e:
        notes += f"; eager-torch baseline not available: {e}"
    res = _timed(ctx, cases)
    ratios = {f"speedup_vs_torch_{n}": _ratio(res, f"torch_model_{n}", f"model_{n}")
              for n in (1, 9) if f"torch_model_{n}" in res}
    return {"cases": res, "ratios": ratios, "baselines": [c for c in res if c.startswith("torch_")], "notes": notes}


def _crop_sizes(ctx: Context) -> tuple[int, ...]:
    return (256,) if ctx.quick else (256, 128)


def crop(ctx: Context) -> dict[str, Any]:
    """Fused crop + normalise (float32 NCHW in [-1, 1]) vs cv2.warpAffine + normalise + transpose."""
    from dhsdk import kernels
    from dhsdk.bench.baselines import mouth_affine, opencv_crop

    frame = ctx.frame()
    centre = (ctx.size[0] / 2, ctx.size[1] * 0.58)
    cases: dict[str, Callable[[], Any]] = {}
    for s in _crop_sizes(ctx):
        aff = mouth_affine(s, centre, extent=0.3 * ctx.size[0])
        cases[f"dhsdk_{s}"] = lambda a=aff, s=s: kernels.crop(frame, a, s, out="f32", norm="pm1")
        cases[f"opencv_{s}"] = lambda a=aff, s=s: opencv_crop(frame, a, s)
    res = _timed(ctx, cases)
    return {"cases": res, "ratios": {f"speedup_vs_opencv_{s}": _ratio(res, f"opencv_{s}", f"dhsdk_{s}")
                                     for s in _crop_sizes(ctx)},
            "baselines": [c for c in res if c.startswith("opencv_")], "notes": f"frame {ctx.size[0]}x{ctx.size[1]}"}


def composite(ctx: Context) -> dict[str, Any]:
    """Mask-alpha composite of a mouth crop into the frame vs OpenCV and numpy sequences."""
    from dhsdk import kernels
    from dhsdk.bench.baselines import mouth_affine, numpy_composite, opencv_composite

    rng = np.random.default_rng(0)
    frame = ctx.frame()
    cases: dict[str, Callable[[], Any]] = {}
    for s in _crop_sizes(ctx):
        crop_img = rng.integers(0, 256, (s, s, 3), dtype=np.uint8)
        mask = kernels.feather_mask(s, ellipse=(s / 2, s / 2, s / 2.5, s / 3.5), feather=s / 16)
        aff = mouth_affine(s, (ctx.size[0] / 2, ctx.size[1] * 0.58), extent=0.3 * ctx.size[0])
        inv = np.linalg.inv(np.vstack([aff, [0, 0, 1]]))[:2]
        roi = tuple(int(v) for v in kernels.composite(frame.copy(), crop_img, aff, mask))
        f1, f2, f3 = (frame.copy() for _ in range(3))
        cases[f"dhsdk_{s}"] = lambda f=f1, c=crop_img, a=aff, m=mask: kernels.composite(f, c, a, m)
        cases[f"opencv_{s}"] = lambda f=f2, c=crop_img, m=mask, a=aff, r=roi: opencv_composite(f, c, m, a, r)
        cases[f"numpy_{s}"] = lambda f=f3, c=crop_img, m=mask, i=inv, r=roi: numpy_composite(f, c, m, i, r)
    res = _timed(ctx, cases)
    ratios = {}
    for s in _crop_sizes(ctx):
        ratios[f"speedup_vs_opencv_{s}"] = _ratio(res, f"opencv_{s}", f"dhsdk_{s}")
        ratios[f"speedup_vs_numpy_{s}"] = _ratio(res, f"numpy_{s}", f"dhsdk_{s}")
    return {"cases": res, "ratios": ratios, "baselines": [c for c in res if not c.startswith("dhsdk_")],
            "notes": f"frame {ctx.size[0]}x{ctx.size[1]}, mouth ~30 % of its width"}


def color(ctx: Context) -> dict[str, Any]:
    """RGB -> I420 (the encoder's input) vs cv2.cvtColor."""
    import cv2

    from dhsdk import kernels

    frame = ctx.frame()
    res = _timed(ctx, {"dhsdk_i420": lambda: kernels.rgb_to_i420(frame),
                       "opencv_i420": lambda: cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)})
    return {"cases": res, "ratios": {"speedup_vs_opencv": _ratio(res, "opencv_i420", "dhsdk_i420")},
            "baselines": ["opencv_i420"], "notes": f"frame {ctx.size[0]}x{ctx.size[1]}"}


def mouth(ctx: Context) -> dict[str, Any]:
    """Mouth renderers per frame (``<model> renderer``), the bare UNets on ONNX Runtime and eager
    torch, and the Wav2Lip-sized generator at 96 x 96 as the baseline."""
    cases: dict[str, Callable[[], Any]] = {}
    notes = []
    unets = tuple(m for m in ("lite", "full") if m in ctx.mouths or f"{m}-int8" in ctx.mouths)
    int8 = tuple(m for m in unets if f"{m}-int8" in ctx.mouths)
    if unets:
        from dhsdk.bench.mouth import unet_cases

        built, gflops = unet_cases(ctx.workdir, unets, int8)
        cases.update({k.replace("UNetRenderer", "renderer"): v for k, v in built.items()})
        notes.append("GFLOPs/frame: " + ", ".join(f"{k.split()[0]} {v:.2f}" for k, v in gflops.items()
                                                  if k.endswith(" ort")))
    if "warp" in ctx.mouths:
        try:
            cases["warp renderer"] = _warp_case()
        except ImportError as e:
            notes.append(f"warp not available: {e}")
    if not cases:
        raise ImportError("no mouth renderer to time: " + "; ".join(notes))
    res = _timed(ctx, cases)
    ratios = {f"{m}_vs_wav2lip_sized": _ratio(res, "wav2lip-sized ort", f"{m} renderer")
              for m in ctx.mouths if f"{m} renderer" in res and "wav2lip-sized ort" in res}
    ratios.update({f"{m}_ort_vs_torch": _ratio(res, f"{m} torch", f"{m} ort") for m in unets})
    ratios.update({f"{m}_int8_vs_float32": _ratio(res, f"{m} ort", f"{m}-int8 ort") for m in int8})
    baselines = [c for c in res if c.endswith(" torch") or c.startswith("wav2lip-sized")]
    return {"cases": res, "ratios": ratios, "baselines": baselines,
            "notes": "; ".join(["random weights (speed is weight-independent)", *notes])}


def _warp_case() -> Callable[[], Any]:
    """One warp-renderer frame on a synthetic avatar's mouth crop."""
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.geometry import apply_affine
    from dhsdk.render.warp import WarpRenderer

    avatar = SyntheticAvatar(360, 640)
    renderer = WarpRenderer.from_avatar(avatar, size=256)
    s = renderer.crop_size
    crop_img = np.random.default_rng(0).integers(0, 256, (s, s, 3), dtype=np.uint8)
    src = apply_affine(avatar.canonical_to_crop(s), avatar.neutral_lips).astype(np.float32)
    dst = src + np.float32(0.03 * s) * (np.arange(40) % 20 < 10)[:, None] * np.float32([0, 1])
    return lambda: renderer.render(crop_img, src, dst)


def encode(ctx: Context) -> dict[str, Any]:
    """H.264 + AAC file sink: ms to encode and write one frame (with its audio) at the output size."""
    from dhsdk.frames import VideoFrame
    from dhsdk.sinks.file import FileSink

    image = ctx.frame()
    audio = np.zeros(int(16000 * FRAME_S), np.float32)
    count = [0]
    with FileSink(ctx.workdir / "encode.mp4") as sink:
        def write():
            k = count[0]
            sink.write(VideoFrame(image=image, audio=audio, sample_rate=16000, pts=k * FRAME_S, index=k))
            count[0] += 1

        res = measure(write, repeat=40 if ctx.quick else 120, warmup=10)
    return {"cases": {"file_sink": res}, "ratios": {}, "baselines": [],
            "notes": f"frame {ctx.size[0]}x{ctx.size[1]} at 25 fps"}


STAGES: dict[str, Callable[[Context], dict[str, Any]]] = {
    "features": features, "a2k": a2k, "crop": crop, "mouth": mouth, "composite": composite,
    "color": color, "encode": encode,
}


def run_stage(name: str, fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run one stage; never raises.

    Returns:
        the stage's dict with ``status: "ok"``, or ``{"status": "not available", "reason"}``
        when a module it needs is missing (or the device/bundle it needs is absent), or
        ``{"status": "failed", "reason", "traceback"}`` on any other error.
    """
    from dhsdk.errors import DhsdkError

    try:
        return {"status": "ok", **fn(*args)}
    except ImportError as e:
        return {"status": "not available", "reason": f"{type(e).__name__}: {e}"}
    except DhsdkError as e:
        return {"status": "not available", "reason": str(e)}
    except Exception as e:  # noqa: BLE001  (a benchmark harness reports, it does not crash)
        return {"status": "failed", "reason": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc(limit=6)}
