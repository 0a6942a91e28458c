"""Material for the swap and drive tests: real clips from ../shared/data joined into longer
drivers, and generated stock clips (the astronaut, reshaped into a different face, swaying and
blinking) for what the suite must cover without the shared data.

The ground truth of a generated clip comes from how it was built: the per-frame affine of the
sway and the per-frame eye closure are returned with the clip.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "avatar"))
import avatar_material as gen  # noqa: E402  (the avatar tests' generators: astronaut, write_video)


def join_clips(paths: Iterable[Path], out: Path) -> Path:
    """Concatenate talking clips (video and their audio) into one H.264 + AAC mp4."""
    from dhsdk.audio import load_audio
    from dhsdk.avatar.material import open_material
    from dhsdk.frames import VideoFrame
    from dhsdk.sinks.file import FileSink

    k = 0
    with FileSink(out) as sink:
        for path in paths:
            material = open_material(path)
            fps = material.info.fps
            pcm = load_audio(path)
            edges = np.round(np.arange(10_000) * 16000 / fps).astype(int)
            for i, frame in enumerate(material.frames()):
                seg = pcm[edges[i]:edges[i + 1]]
                seg = np.pad(seg, (0, edges[i + 1] - edges[i] - len(seg)))
                sink.write(VideoFrame(frame, seg, 16000, k / fps, k))
                k += 1
    return out
