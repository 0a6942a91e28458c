"""The bundled default avatar, built on first use from a real portrait inside scikit-image.

``skimage.data.astronaut()`` (a public-domain NASA portrait, 512 x 512) is prepared as a
presenter shot — upscaled 2x (Lanczos) and cropped to a 3:4 portrait around the face — and
turned into an avatar with the same :func:`~dhsdk.avatar.create.create_avatar` users run.
Nothing is downloaded and no generated binary is committed: the bundle (~35 MB) is cached
under ``$DHSDK_CACHE/avatars`` (default ``~/.cache/dhsdk``), keyed by the bundle schema and
the recipe version, and rebuilt when either changes. Concurrent first uses are serialised by
a lock file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dhsdk.avatar.bundle import SCHEMA_VERSION
from dhsdk.paths import cache_root

RECIPE_VERSION = 2           # 2: lower-face polygon without the notch at the mouth corners
PORTRAIT_SIZE = (768, 1024)   # width, height of the prepared portrait
UPSCALE = 2.0


def portrait() -> np.ndarray:
    """(1024, 768, 3) uint8 RGB: the astronaut portrait as a presenter shot."""
    import cv2
    from skimage import data

    from dhsdk.avatar.face import FaceDetector

    image = np.ascontiguousarray(data.astronaut())
    big = cv2.resize(image, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_LANCZOS4)
    with FaceDetector() as det:
        face = det.detect(image)[0]
    w, h = PORTRAIT_SIZE
    cx = UPSCALE * (face.x0 + face.x1) / 2
    x0 = int(np.clip(round(cx - w / 2), 0, big.shape[1] - w))
    return np.ascontiguousarray(big[: h, x0:x0 + w])


def default_avatar_dir(show_progress: bool = True) -> Path:
    """The default avatar's bundle directory, building it first if needed."""
    import fcntl

    root = cache_root() / "avatars"
    target = root / f"default-s{SCHEMA_VERSION}-r{RECIPE_VERSION}"
    if (target / "manifest.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".default.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "manifest.json").is_file():
            _build(target, show_progress)
    return target


def _build(target: Path, show_progress: bool) -> None:
    import sys
    import tempfile

    from PIL import Image

    from dhsdk.avatar.create import create_avatar

    print(f"dhsdk: building the default avatar in {target} (first use only)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="dhsdk-portrait-") as tmp:
        source = Path(tmp) / "astronaut_presenter.png"
        Image.fromarray(portrait()).save(source)
        create_avatar(source, target, force=True, show_progress=show_progress)
