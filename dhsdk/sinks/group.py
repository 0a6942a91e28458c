"""The sinks of one live run, from ``--sink`` specs: validated, fed together, policed, finished.

``dhsdk live`` and ``dhsdk host`` write every frame to several sinks. A :class:`SinkGroup`
makes sure none of them fails in silence:

- specs are checked before any work (:func:`check_spec`: a file path that is a directory or
  not writable, a port out of range, a malformed URL, not enough free disk space);
- a sink that never delivered a frame and has been unreachable for ``give_up_s`` ends the run
  with its reason (an RTMP ingest that is not running), unless the caller keeps retrying;
- a sink whose own thread failed raises at the next frame (:attr:`dhsdk.sinks.base.Sink.error`);
- :meth:`SinkGroup.finish` finishes every output that received frames (a file sink renames its
  playable mp4, also after Ctrl-C or SIGTERM) and discards those that received none;
- :meth:`SinkGroup.summary` reports each sink's deliveries, drops, reconnects and outage.

:func:`live_outputs` is the whole lifecycle for a command: open the group under
:func:`dhsdk.signals.graceful`, finish it however the run ends, then :func:`conclude` prints the
health report and turns a stop signal or an undelivered sink into the command's error.
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from typing import Any, Iterable, Iterator

from dhsdk.errors import InputError, SinkError
from dhsdk.frames import VideoFrame

log = logging.getLogger(__name__)

# sink kind -> (module, class)
_SINKS = {
    "file": ("dhsdk.sinks.file", "FileSink"),
    "rtmp": ("dhsdk.sinks.rtmp", "RtmpSink"),
    "obs": ("dhsdk.sinks.obs", "ObsSink"),
    "browser": ("dhsdk.sinks.browser", "BrowserSink"),
}
_SPECS = "file:PATH, rtmp://HOST[:PORT]/APP/KEY, obs[:NAME] or browser:PORT"
UNBOUNDED_S = 600.0   # length assumed for a file sink's free-space check when a run has no known end


def parse_spec(spec: str) -> tuple[str, str]:
    """``(kind, argument)`` of a ``--sink`` spec, validated without opening anything.

    Raises:
        InputError: an unknown kind, a file sink without a path, a browser port that is not a
            number in 1-65535, a malformed RTMP URL.
    """
    if spec.startswith(("rtmp://", "rtmps://")):
        from dhsdk.sinks.rtmp import check_url

        return "rtmp", check_url(spec)
    kind, _, arg = spec.partition(":")
    if kind not in _SINKS:
        raise InputError(f"unknown sink {spec!r}: use {_SPECS}")
    if kind == "file" and not arg:
        raise InputError(f"sink {spec!r} needs a target, e.g. file:out.mp4")
    if kind == "browser":
        if arg and not (arg.isdigit() and 1 <= int(arg) <= 65535):
            raise InputError(f"sink {spec!r}: the port must be a number from 1 to 65535, e.g. browser:8080")
        arg = arg or "8080"
    if kind == "obs":
        arg = arg or "dhsdk"
    return kind, arg


def check_spec(spec: str, size: tuple[int, int] | None = None, fps: float = 25.0, seconds: float | None = None) -> None:
    """Validate a spec before any work starts (:func:`parse_spec`; a file sink's path and, given
    the frame size, the free space for its output: see :func:`dhsdk.atomic.check_output`).

    Args:
        spec: the ``--sink`` value.
        size: (width, height) of the frames; None skips the free-space check.
        fps: frames per second.
        seconds: how long the run will be; None when it has no known end (then
            :data:`UNBOUNDED_S` is assumed).
    """
    kind, arg = parse_spec(spec)
    if kind == "file":
        from dhsdk.atomic import check_output
        from dhsdk.sinks.file import estimate_bytes

        expected = 0.0 if size is None else estimate_bytes(*size, fps, UNBOUNDED_S if seconds is None else seconds)
        check_output(arg, expected)


def open_sink(spec: str) -> Any:
    """A sink from its command-line spec (see :func:`parse_spec`)."""
    kind, arg = parse_spec(spec)
    module, name = _SINKS[kind]
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise InputError(f"sink {kind!r} is not available in this installation ({e})") from None
    if kind == "browser":
        return cls(port=int(arg))
    if kind == "file":
        return cls(arg, fragmented=True)   # a live run has no known end: memory stays flat
    return cls(arg)   # rtmp: URL; obs: the ring name the OBS source reads


class SinkGroup:
    """Several sinks fed the same frames.

    Args:
        sinks: open sinks.
        give_up_s: seconds a sink that never delivered may stay unreachable before
            :meth:`write` ends the run; None retries for as long as the run lasts.
    """

    def __init__(self, sinks: Iterable[Any], give_up_s: float | None = 10.0):
        self.sinks = list(sinks)
        self.give_up_s = give_up_s

    @classmethod
    def open(cls, specs: Iterable[str], give_up_s: float | None = 10.0) -> "SinkGroup":
        """Open a sink per spec; if one cannot be opened, those opened already are discarded."""
        group = cls([], give_up_s)
        try:
            for spec in specs:
                group.sinks.append(open_sink(spec))
        except BaseException:
            for sink in group.sinks:
                sink.abort()
            raise
        return group

    def write(self, frame: VideoFrame) -> None:
        """Write ``frame`` to every sink, then :meth:`check` them.

        Raises:
            SinkError: a sink failed or gave up (see :meth:`check`).
            OutputError: a file could not be written (a full disk).
        """
        for sink in self.sinks:
            sink.write(frame)
        self.check()

    def check(self) -> None:
        """Raise for a sink that has never delivered and has been unreachable for ``give_up_s``,
        or whose own thread failed."""
        for sink in self.sinks:
            if sink.error is not None:
                raise sink.error
            m = sink.metrics
            if self.give_up_s is not None and m.written == 0 and m.outage_s >= self.give_up_s:
                raise SinkError(f"{sink}: nothing delivered in {m.outage_s:.1f} s ({sink.last_error}); "
                                f"check that the server is running and the address is right, or pass "
                                f"--sink-retry to keep trying")

    def finish(self, error: BaseException | None = None) -> None:
        """Close every sink: one that received frames finishes its output, one that received
        none is discarded (a file sink leaves no file).

        Args:
            error: the exception ending the run, if any; errors while closing are then logged,
                so they never hide it. Without one, the first closing error is raised.
        """
        failures: list[BaseException] = []
        for sink in self.sinks:
            try:
                if sink.metrics.written:
                    sink.close()
                else:
                    sink.abort()
            except Exception as e:  # noqa: BLE001  (every sink gets its chance to close)
                failures.append(e)
        if failures and error is None:
            raise failures[0]
        for e in failures:
            log.warning("%s", e)

    def undelivered(self) -> list[str]:
        """One line per sink that was given frames and delivered none of them."""
        return [f"{sink}: nothing was delivered ({sink.last_error}); check that the server is running and the "
                f"address is right" for sink in self.sinks if sink.metrics.written == 0 and sink.metrics.outage_s > 0]

    def summary(self) -> list[dict[str, Any]]:
        """Per sink: its name (stream keys hidden), counters and last error."""
        return [{"sink": str(sink), **sink.metrics.summary(), "last_error": sink.last_error} for sink in self.sinks]

    def report(self) -> list[str]:
        """Per sink, one line a person reads at the end of a run."""
        lines = []
        for s in self.summary():
            line = f"{s['sink']}: {s['written']} written, {s['dropped']} dropped"
            if s["reconnects"] or s["outage_s"]:
                line += f", {s['reconnects']} reconnects, {s['outage_s']:.1f} s outage"
            lines.append(line + (f" ({s['last_error']})" if s["last_error"] else ""))
        return lines


@contextlib.contextmanager
def live_outputs(specs: Iterable[str], give_up_s: float | None) -> Iterator[tuple[SinkGroup, Any]]:
    """Open the sinks of ``specs`` with stop signals made graceful; finish them on the way out.

    Yields:
        ``(group, stop)``: the :class:`SinkGroup` and the :class:`~dhsdk.signals.StopRequest`
        the frame loop must check between frames.
    """
    from dhsdk.signals import graceful

    with graceful() as stop:
        group = SinkGroup.open(specs, give_up_s)
        error = None
        try:
            yield group, stop
        except BaseException as e:
            error = e
            raise
        finally:
            group.finish(error)


def conclude(command: str, group: SinkGroup, stop: Any, elapsed: float) -> None:
    """Print each sink's health line to stderr; then end the command as the run ended.

    Raises:
        Interrupted: a stop signal ended the run (the outputs were finished).
        SinkError: a sink was given frames and delivered none.
    """
    for line in group.report():
        print(f"{command}: {line}", file=sys.stderr)
    if stop.is_set():
        raise stop.interrupted(f"stopped by {stop.name} after {elapsed:.1f} s; the outputs were finished")
    undelivered = group.undelivered()
    if undelivered:
        raise SinkError("; ".join(undelivered))
