"""a2k training data: sentence corpus -> espeak speech (voices, rates, pitches) -> phoneme timings ->
viseme coefficient targets with co-articulation -> (mel windows, coefficient targets) at 100 Hz.

Targets are lip-shape coefficients (:mod:`dhsdk.models.lipshape`) per mel frame; silence is exactly
zero, p/b/m fully close the lips. Audio is augmented (gain, noise, low-pass/EQ tilt, leading and
trailing silence) so the model is not tied to espeak's voice. Train and validation differ in voice
variants and sentences.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from dhsdk.audio import load_audio, log_mel
from dhsdk.models.lipshape import K

_PRODUCTS = ["jacket", "dress", "lipstick", "phone case", "sneakers", "face cream", "backpack", "tea set", "scarf"]
_EN = ["Today the {p} is only {n} dollars.", "We have sizes small, medium and large in the {p}.",
       "Buy two {p}s and get one free!", "This {p} ships within {d} days.", "Limited stock, only {d} left.",
       "Look at the quality of this {p}, perfect for summer.", "Press the button below to buy now.",
       "Welcome back everyone, thank you for watching.", "The price drops to {n} for the next five minutes."]
_ZH = ["今天这款{q}只要{m}元。", "库存只剩{d}件了，大家抓紧时间。", "买二送一，包邮到家。", "这个颜色非常百搭，欢迎下单。",
       "尺码有小号、中号和大号。", "点击下方链接马上购买。", "感谢大家观看直播间。"]
_ZH_P = ["外套", "口红", "面霜", "背包", "围巾", "茶具"]
TRAIN_VOICES = ["en-us", "en-us+m3", "en-us+f2", "en-us+f4", "en", "en-gb-x-rp", "cmn", "cmn+f3"]
VAL_VOICES = ["en-us+m7", "en-us+f5", "en-029", "cmn+m2"]

# Viseme targets per phoneme class: (jaw_open, spread, round, upper_raise, lower_tuck, press).
_CLOSED = (0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
_VISEMES = {"a": (0.85, 0.1, 0, 0.2, 0, 0), "A": (0.85, 0, 0, 0.2, 0, 0), "@": (0.4, 0, 0, 0.1, 0, 0),
            "3": (0.4, 0, 0.2, 0.1, 0, 0), "V": (0.6, 0, 0, 0.1, 0, 0), "E": (0.55, 0.4, 0, 0.1, 0, 0),
            "e": (0.45, 0.5, 0, 0.1, 0, 0), "I": (0.35, 0.6, 0, 0.1, 0, 0), "i": (0.3, 0.8, 0, 0.1, 0, 0),
            "y": (0.3, 0, 0.7, 0, 0, 0), "O": (0.6, 0, 0.6, 0, 0, 0), "o": (0.45, 0, 0.8, 0, 0, 0),
            "U": (0.3, 0, 0.7, 0, 0, 0), "u": (0.25, 0, 1.0, 0, 0, 0), "w": (0.15, 0, 1.0, 0, 0, 0),
            "p": _CLOSED, "b": _CLOSED, "m": _CLOSED, "f": (0.1, 0, 0, 0.3, 1.0, 0), "v": (0.1, 0, 0, 0.3, 1.0, 0),
            "T": (0.2, 0.2, 0, 0.2, 0, 0), "D": (0.2, 0.2, 0, 0.2, 0, 0), "S": (0.2, 0, 0.6, 0.3, 0, 0),
            "Z": (0.2, 0, 0.6, 0.3, 0, 0), "r": (0.25, 0, 0.4, 0, 0, 0), "s": (0.15, 0.4, 0, 0.1, 0, 0),
            "z": (0.15, 0.4, 0, 0.1, 0, 0), "x": (0.2, 0.4, 0, 0.1, 0, 0), "j": (0.2, 0.6, 0, 0, 0, 0)}
_DEFAULT = (0.25, 0.1, 0, 0.1, 0, 0)
FPS = 100


def viseme(phoneme: str) -> np.ndarray | None:
    """(K,) coefficient target of an espeak phoneme mnemonic; None for silence/markers."""
    core = phoneme.lstrip("'\",%=").strip()
    if not core or core.startswith("_") or core.startswith("("):
        return None
    return np.asarray(_VISEMES.get(core[0], _DEFAULT), np.float32)


def targets(phonemes: list[tuple[float, str]], duration: float) -> np.ndarray:
    """(ceil(duration*100), K) coefficient targets at 100 Hz with co-articulation.

    Each phoneme holds its viseme until the next event; a 30 ms Gaussian blends neighbours; silence
    stays exactly 0 and p/b/m frames are forced fully closed after blending.
    """
    n = int(np.ceil(duration * FPS))
    raw = np.zeros((n, K), np.float32)
    speech = np.zeros(n, bool)
    closed = np.zeros(n, bool)
    events = sorted(phonemes) + [(duration, "_")]
    for (t0, ph), (t1, _) in zip(events[:-1], events[1:]):
        a, b = int(round(t0 * FPS)), int(round(t1 * FPS))
        v = viseme(ph)
        if v is None or b <= a:
            continue
        raw[a:b], speech[a:b] = v, True
        if v[5] == 1.0:
            closed[a + (b - a) // 4: b - (b - a) // 4 or b] = True
    kern = np.exp(-0.5 * (np.arange(-9, 10) / 3.0) ** 2)
    kern /= kern.sum()
    smooth = np.stack([np.convolve(raw[:, k], kern, mode="same") for k in range(K)], 1)
    mask = np.convolve(speech.astype(np.float32), kern, mode="same") > 1e-3
    smooth[~mask] = 0.0
    smooth[closed] = _CLOSED
    return smooth.astype(np.float32)


def sentence(rng: random.Random, chinese: bool) -> str:
    """A random live-commerce sentence."""
    if chinese:
        return rng.choice(_ZH).format(q=rng.choice(_ZH_P), m=rng.randint(9, 999), d=rng.randint(2, 50))
    return rng.choice(_EN).format(p=rng.choice(_PRODUCTS), n=f"{rng.randint(5, 299)}.{rng.choice([0, 49, 99])}",
                                  d=rng.randint(2, 30))


def augment(pcm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gain, EQ tilt (one-pole low/high-pass mix), background noise."""
    gain = 10 ** rng.uniform(-1.2, 0.3)
    tilt = rng.uniform(-0.6, 0.6)
    a = rng.uniform(0.3, 0.9)
    lp = np.concatenate([[0.0], pcm[:-1]]).astype(np.float32) * a + pcm * (1 - a)
    out = pcm + tilt * (lp - pcm)
    out = out * gain + rng.normal(0, 10 ** rng.uniform(-4.5, -2.3), len(out)).astype(np.float32)
    return np.clip(out, -1, 1).astype(np.float32)


@dataclass
class Utterance:
    """One training example: (F, 80) log-mel and (F, K) coefficient targets at 100 Hz."""

    mel: np.ndarray
    target: np.ndarray


def make_utterance(seed: int, voices: list[str]) -> Utterance:
    """Synthesize, label and augment one utterance (deterministic in ``seed``)."""
    from dhsdk.adapters.tts.espeak import EspeakTTS

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    voice = rng.choice(voices)
    text = " ".join(sentence(rng, voice.startswith("cmn")) for _ in range(rng.randint(1, 2)))
    tts = EspeakTTS(voice, rate_wpm=rng.randint(120, 240), pitch=rng.randint(25, 75))
    chunk = tts.synthesize(text)
    pcm = load_audio((chunk.pcm, chunk.sample_rate))
    lead, tail = rng.uniform(0, 0.6), rng.uniform(0, 0.6)
    pcm = np.concatenate([np.zeros(int(lead * 16000), np.float32), pcm, np.zeros(int(tail * 16000), np.float32)])
    phon = [(t + lead, p) for t, p in chunk.phonemes]
    mel = log_mel(augment(pcm, nrng))
    tgt = targets(phon, len(pcm) / 16000)
    n = min(len(mel), len(tgt))
    return Utterance(mel[:n], tgt[:n])
