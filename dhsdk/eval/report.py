"""The evaluation's reports: one per output video (:class:`EvalReport`) and one for a set of
videos with its overall verdict (:class:`EvalSet`).

An :class:`EvalReport` is a :class:`dhsdk.avatar.review.ReviewReport` (same checks, verdict,
JSON and text) of kind ``"eval"``; its ``info`` also holds the numbers behind the checks
(``metrics``), which checks each group made (``groups``), and the per-frame series the sheet
draws (``series``: mouth opening, the reference's, the speech envelope in dB, silence, and the
flagged frames; ``curves``: the lag searches).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dhsdk.atomic import atomic_file
from dhsdk.avatar.review import Check, ReviewReport


@dataclass
class EvalReport(ReviewReport):
    """The evaluation of one video (or the pooled overall of a set, kind ``"set"``)."""

    @property
    def metrics(self) -> dict[str, Any]:
        """Every number the checks were graded on (e.g. ``ref_corr``, ``av_offset_ms``, ``silence_closed``)."""
        return self.info.get("metrics", {})

    def group(self, name: str) -> list[Check]:
        """The checks of group ``name`` (e.g. ``"sync"``)."""
        return [self.check(n) for n in self.info.get("groups", {}).get(name, [])]

    def text(self) -> str:
        """One line per check and its fix, headed by the verdict."""
        lines = super().text().splitlines()
        lines[0] = f"eval of {self.source}: {self.verdict.upper()}"
        return "\n".join(lines)

    def save(self, path: str | Path) -> None:
        """Write the JSON report (atomically)."""
        _write_json(path, self.to_json())


@dataclass
class EvalSet:
    """Several evaluated videos and their pooled verdict.

    Attributes:
        clips: one :class:`EvalReport` per video, in the order given.
        overall: the checks graded on the pooled measures of all clips (kind ``"set"``).
    """

    clips: list[EvalReport]
    overall: EvalReport

    @property
    def verdict(self) -> str:
        """The worst verdict of the overall checks and of every clip."""
        states = {r.verdict for r in [self.overall, *self.clips]}
        return "fail" if "fail" in states else "warn" if "warn" in states else "pass"

    def to_json(self) -> dict[str, Any]:
        """The set as JSON-ready data: verdict, overall report, clip reports."""
        return {"verdict": self.verdict, "overall": self.overall.to_json(), "clips": [c.to_json() for c in self.clips]}

    def save(self, path: str | Path) -> None:
        """Write the JSON (atomically)."""
        _write_json(path, self.to_json())

    def text(self) -> str:
        """The overall checks, then one line per clip and check that did not pass."""
        lines = [self.overall.text()]
        for c in self.clips:
            lines.append(f"  {c.verdict.upper():<4}  {c.source}")
            lines += [f"        {k.status.upper()} {k.name}: {k.reason}" for k in c.checks
                      if k.status in ("warn", "fail")]
        return "\n".join(lines)


def _write_json(path: str | Path, data: dict[str, Any]) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
