"""Keep third-party start-up log noise off the user's terminal.

mediapipe's graphs print TensorFlow Lite and absl lines straight to file descriptor 2 from C++
the first time they run ("Created TensorFlow Lite XNNPACK delegate", "All log messages before
absl::InitializeLog()", "Feedback manager requires a model with a single signature"), and its
Python side warns about a deprecated protobuf call on every result. None of it is actionable
for a dhsdk user. :func:`filtered_stderr` routes fd 2 through a temporary file for a block and
writes back every line that is not known noise, so a real native error still shows;
:class:`QuietGraph` runs a mediapipe graph's calls inside it until every model in the graph has
run once.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import warnings
from typing import Any, Callable, Iterator

import numpy as np

NOISE = re.compile(r"^(INFO: Created TensorFlow Lite .*delegate|WARNING: All log messages before "
                   r"absl::InitializeLog\(\)|[IW]\d{4} .*(inference_feedback_manager|gl_context)\.cc)")

# mediapipe's result conversion calls protobuf's deprecated SymbolDatabase.GetPrototype().
warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated", category=UserWarning)


@contextlib.contextmanager
def filtered_stderr(noise: re.Pattern = NOISE) -> Iterator[None]:
    """Inside the block, native writes to stderr are held back; afterwards the lines that do not
    match ``noise`` are written out (in order). Python's ``sys.stderr`` is flushed around it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines(keepends=True) if not noise.match(line)]
            if kept:
                os.write(2, "".join(kept).encode())


class QuietGraph:
    """A mediapipe solution (FaceMesh, FaceDetection) whose start-up log lines are filtered out.

    It is built inside :func:`filtered_stderr`, and its models start lazily (the landmark model
    only once a face was detected), so calls run inside it too until one returns a face; later
    calls run as they are.

    Args:
        make: builds the solution object (``process(rgb)`` and ``close()``).
    """

    def __init__(self, make: Callable[[], Any]):
        with filtered_stderr():
            self.graph = make()
        self._started = False

    def process(self, rgb: np.ndarray) -> Any:
        """``graph.process(rgb)``."""
        if self._started:
            return self.graph.process(rgb)
        with filtered_stderr():
            result = self.graph.process(rgb)
        self._started = bool(getattr(result, "multi_face_landmarks", None) or getattr(result, "detections", None))
        return result

    def close(self) -> None:
        """Release the graph."""
        self.graph.close()
