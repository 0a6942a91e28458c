"""The runner interface (after Polygraphy's ``backend/base/runner.py``).

Lifecycle: a runner is created cheaply, ``activate()`` loads its model (session, engine,
module), ``infer()`` may be called only while active, ``deactivate()`` (alias ``close()``)
frees it. A runner is a context manager. Public methods are template methods over the
backend's ``*_impl`` methods, so checks and timing are written once.
"""
from __future__ import annotations

import abc
import time
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    """Shape and dtype of one runner input or output.

    Attributes:
        shape: dimensions; a str or None marks a dynamic axis (e.g. ``("batch", 80, 24)``).
        dtype: numpy dtype of the array the runner takes or returns.
    """

    shape: tuple[int | str | None, ...]
    dtype: np.dtype

    def matches(self, array: Any) -> bool:
        """True if ``array`` has this rank, dtype and every static dimension."""
        shape = tuple(array.shape)
        if len(shape) != len(self.shape) or np.dtype(array.dtype) != np.dtype(self.dtype):
            return False
        return all(not isinstance(s, int) or s == d for s, d in zip(self.shape, shape))


class ArrayMeta(NamedTuple):
    """Shape and numpy dtype of an array of any library."""

    shape: tuple
    dtype: np.dtype


def array_meta(array: Any) -> ArrayMeta:
    """Shape and numpy dtype of a numpy/CuPy/torch/PyCUDA array, without touching its memory."""
    dt = array.dtype
    try:
        dt = np.dtype(dt)
    except TypeError:  # torch.float32 -> "float32"
        dt = np.dtype(str(dt).rsplit(".", 1)[-1])
    return ArrayMeta(tuple(array.shape), dt)


class BaseRunner(abc.ABC):
    """Base class of every backend.

    Attributes:
        name: human-readable name used in errors and benchmark output.
        is_active: True between ``activate()`` and ``deactivate()``.
        last_inference_time: wall-clock seconds of the most recent ``infer()`` call.
    """

    def __init__(self, name: str):
        self.name = name
        self.is_active = False
        self.last_inference_time: float | None = None
        self._inputs: dict[str, TensorSpec] = {}
        self._outputs: dict[str, TensorSpec] = {}

    # ---- lifecycle -----------------------------------------------------------------
    def activate(self) -> "BaseRunner":
        """Load the model. Idempotent; returns self."""
        if not self.is_active:
            self.activate_impl()
            self._inputs, self._outputs = self.io_specs_impl()
            self.is_active = True
        return self

    def deactivate(self) -> None:
        """Release the model and any device memory. Idempotent."""
        if self.is_active:
            self.deactivate_impl()
            self.is_active = False

    close = deactivate

    def __enter__(self) -> "BaseRunner":
        return self.activate()

    def __exit__(self, *exc: object) -> None:
        self.deactivate()

    # ---- metadata ------------------------------------------------------------------
    @property
    def inputs(self) -> dict[str, TensorSpec]:
        """Input name -> spec. Only after ``activate()``."""
        self._require_active("inputs")
        return self._inputs

    @property
    def outputs(self) -> dict[str, TensorSpec]:
        """Output name -> spec. Only after ``activate()``."""
        self._require_active("outputs")
        return self._outputs

    # ---- inference -----------------------------------------------------------------
    def infer(self, feeds: Mapping[str, Any], check: bool = True) -> dict[str, Any]:
        """Run the model once.

        Args:
            feeds: input name -> array (numpy on the CPU; device arrays on GPU backends).
            check: verify names, ranks, dtypes and static dimensions first (cheap).

        Returns:
            output name -> array, in the backend's array type.
        """
        self._require_active("infer()")
        if check:
            self._check_feeds(feeds)
        start = time.perf_counter()
        out = self.infer_impl(feeds)
        self.last_inference_time = time.perf_counter() - start
        return out

    def _check_feeds(self, feeds: Mapping[str, Any]) -> None:
        missing = set(self._inputs) - set(feeds)
        extra = set(feeds) - set(self._inputs)
        if missing or extra:
            raise ValueError(f"{self.name}: inputs {sorted(self._inputs)} expected, got {sorted(feeds)} "
                             f"(missing {sorted(missing)}, unexpected {sorted(extra)})")
        for key, spec in self._inputs.items():
            arr = array_meta(feeds[key])
            if not spec.matches(arr):
                raise ValueError(f"{self.name}: input '{key}' must be {np.dtype(spec.dtype).name} of shape "
                                 f"{spec.shape}, got {np.dtype(arr.dtype).name} {tuple(arr.shape)}")

    def _require_active(self, what: str) -> None:
        if not self.is_active:
            raise RuntimeError(f"{self.name}: {what} is only available after activate() "
                               f"(or inside a 'with runner:' block)")

    # ---- backend hooks -------------------------------------------------------------
    @abc.abstractmethod
    def activate_impl(self) -> None:
        """Load the model."""

    @abc.abstractmethod
    def io_specs_impl(self) -> tuple[dict[str, TensorSpec], dict[str, TensorSpec]]:
        """Return (inputs, outputs) specs of the loaded model."""

    @abc.abstractmethod
    def infer_impl(self, feeds: Mapping[str, Any]) -> dict[str, Any]:
        """Run the loaded model."""

    @abc.abstractmethod
    def deactivate_impl(self) -> None:
        """Free the loaded model."""
