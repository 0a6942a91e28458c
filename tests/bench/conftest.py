"""One tiny real ``dhsdk bench`` run shared by the bench tests (``--quick``-like: every stage
that exists, the lite mouth end to end with 1.5 s of speech, the stream sweep up to 2)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def bench_run(tmp_path_factory):
    """(result document, {kind: path}) of a tiny real run written to a temporary directory."""
    from dhsdk.bench.run import Config, run, write_outputs

    doc = run(Config(quick=True, mouths=("lite",), streams=[1], duration=1.5, size=(320, 576), max_streams=2))
    return doc, write_outputs(doc, tmp_path_factory.mktemp("bench"))
