"""Media for the evaluation tests: renders through ``dhsdk render``, WAV files, and desynced
copies made the way real ones come about: the packets re-muxed (PyAV, no re-encoding) with one
stream's timestamps moved, so a player starts that stream later."""
from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import numpy as np

SENTENCE = "Please buy my bamboo bowls, maybe two, before the promotion ends."
SIZE = "384x512"            # renders at half the default avatar's size: fast to render and track
SHIFT_S = 0.12              # the desync the evaluation must flag
GRID_CLIP = "pbbc4n"        # "place blue by c four now": three bilabials, strong mouth/sound correlation
GRID_PRIMING_S = 1024 / 16000   # AAC encoder delay the GRID files keep (no edit list): audio 64 ms late


def write_wav(path: Path, pcm: np.ndarray, rate: int = 16000) -> Path:
    """Write float PCM in [-1, 1] as a 16-bit mono WAV."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def render(avatar_dir: Path, wav: Path, out: Path) -> Path:
    """``dhsdk render`` (the command line, the real pipeline) of ``wav`` on the avatar, at :data:`SIZE`."""
    from dhsdk.cli import main

    assert main(["render", "--avatar", str(avatar_dir), "--audio", str(wav), "-o", str(out), "--size", SIZE,
                 "--quiet"]) == 0
    return out


def shift_audio(src: Path, dst: Path, seconds: float) -> Path:
    """Copy ``src`` to ``dst`` with the audio played ``seconds`` later than the picture
    (> 0: audio lags; < 0: audio leads, done by starting the video later instead).

    Returns:
        ``dst``.
    """
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        vout, aout = out.add_stream_from_template(vin), out.add_stream_from_template(ain)
        late = {ain.index: max(seconds, 0.0), vin.index: max(-seconds, 0.0)}
        mapping = {vin.index: vout, ain.index: aout}
        for packet in inp.demux(vin, ain):
            if packet.dts is None:
                continue
            delta = int(round(Fraction(late[packet.stream.index]).limit_denominator(100000) / packet.time_base))
            packet.pts = None if packet.pts is None else packet.pts + delta
            packet.dts += delta
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    return dst


def mux_audio_from(video: Path, source: Path) -> Path:
    """Add ``source``'s audio stream (packets copied) to the picture-only ``video``, in place."""
    import av

    tmp = video.with_name(f".{video.stem}.mux{video.suffix}")
    with av.open(str(video)) as vin, av.open(str(source)) as ain, av.open(str(tmp), "w") as out:
        vs, as_ = vin.streams.video[0], ain.streams.audio[0]
        vout, aout = out.add_stream_from_template(vs), out.add_stream_from_template(as_)
        for packet in vin.demux(vs):
            if packet.dts is not None:
                packet.stream = vout
                out.mux(packet)
        for packet in ain.demux(as_):
            if packet.dts is not None:
                packet.stream = aout
                out.mux(packet)
    tmp.replace(video)
    return video
