"""``ObsSink``: frames to OBS Studio through the dhsdk OBS source plugin (``obs-plugin/``).

Each frame goes as BGRA pixels plus its float32 audio and pts into a shared-memory ring
(:mod:`dhsdk.sinks.ring`); the plugin's "dhsdk Digital Human" source reads it on its own
thread and hands OBS timestamped video and audio, so OBS keeps lips and sound together. The
ring is created at the first frame (sized by it, or by ``max_size``) and unlinked by
:meth:`close`; writing never waits for OBS, which may start, stop or lag at any time.
"""
from __future__ import annotations

import logging
import platform

from dhsdk.frames import VideoFrame
from dhsdk.sinks.base import Sink
from dhsdk.sinks.ring import FrameRing, shm_name

log = logging.getLogger(__name__)


class ObsSink(Sink):
    """Publish frames to the OBS plugin.

    Args:
        name: ring name; the OBS source's "Shared memory name" setting must match
            (default ``dhsdk``; one name per presenter when several run at once).
        max_size: (width, height) capacity of the ring; the first frame's size when None.
            Later frames may be smaller, never larger.
        max_samples: mono audio samples per frame the ring holds.
        slots: frames kept in the ring (a reader stalled longer than ``slots - 1`` frames
            loses the oldest).

    Raises:
        InputError: a bad name, or another live sink owns the ring.
    """

    def __init__(self, name: str = "dhsdk", max_size: tuple[int, int] | None = None, max_samples: int = 4096,
                 slots: int = 4):
        super().__init__()
        if platform.machine().lower() not in ("x86_64", "amd64"):
            log.warning("the OBS ring's Python writer relies on x86-64 store ordering; on %s a reader "
                        "may see torn frames", platform.machine())
        self.name, self.max_samples, self.slots = name, max_samples, slots
        self.ring: FrameRing | None = None
        if max_size is not None:
            self.ring = FrameRing(name, *max_size, max_samples=max_samples, slots=slots)

    def __str__(self) -> str:
        return f"obs:{self.name}"

    @property
    def shm_path(self) -> str:
        """Where the ring lives on Linux (for ``ls``; readers use ``shm_open``)."""
        return f"/dev/shm/{shm_name(self.name)}"

    def _write(self, frame: VideoFrame) -> None:
        if self.ring is None:
            h, w = frame.image.shape[:2]
            self.ring = FrameRing(self.name, w, h, max_samples=self.max_samples, slots=self.slots)
        self.ring.write(frame.image, frame.audio, int(frame.sample_rate), frame.index, round(frame.pts * 1e9),
                        frame.speaking)
        self.metrics.count("written")

    def _close(self) -> None:
        if self.ring is not None:
            self.ring.close()
