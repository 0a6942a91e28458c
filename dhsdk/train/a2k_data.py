"""a2k training data from three sources, each as (log-mel, lip-shape targets) at 100 Hz.

1. **Real lips** (:func:`real_utterances`): talking clips measured by :mod:`dhsdk.train.av_data`
   (GRID); the targets are the lips measured in each video frame, projected on the lip-shape basis
   and interpolated to the mel rate; in silence away from speech the measured lips are kept
   but held to a breath's slight parting (:func:`breath`).
2. **Real speech, teacher-labelled** (:func:`teacher_utterances`): speech with no video; its phone
   timings come from pocketsphinx (a recogniser trained on many real voices: forced alignment
   of a transcript, or phone recognition for other languages) and become targets through the
   viseme table fitted on real lips (:mod:`dhsdk.train.visemes`).
3. **Generated speech** (:func:`make_utterance`): live-commerce sentences in English and Mandarin
   from espeak-ng in many voices, labelled by espeak's own phoneme events (same table).

Every source is augmented (:mod:`dhsdk.train.augment`: speed, EQ, band limits, noise, reverb,
codecs, vocal-tract length), so a few real speakers sound like many. :class:`Pool` holds the
utterances in one array and draws batches of (B, 80, W) mel windows and (B, K) targets.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from dhsdk.audio import log_mel
from dhsdk.audio.mel import silence_value
from dhsdk.geometry import mouth_opening
from dhsdk.models.lipshape import K, coeffs_to_deltas
from dhsdk.train import visemes
from dhsdk.train.augment import Augmented, augment

FPS = visemes.FPS   # target and mel frames per second
BREATH_GAP = 0.02   # eye distances: the widest lip parting a real clip's silence is trained to

_PRODUCTS = ["jacket", "dress", "lipstick", "phone case", "sneakers", "face cream", "backpack", "tea set", "scarf"]
_EN = ["Today the {p} is only {n} dollars.", "We have sizes small, medium and large in the {p}.",
       "Buy two {p}s and get one free!", "This {p} ships within {d} days.", "Limited stock, only {d} left.",
       "Look at the quality of this {p}, perfect for summer.", "Press the button below to buy now.",
       "Welcome back everyone, thank you for watching.", "The price drops to {n} for the next five minutes.",
       "My favourite part is the soft fabric, feel how smooth it is.", "Would you wear this to a party or to work?",
       "Put it in your basket before the offer ends.", "Our shop opens again tomorrow morning at nine."]
_ZH = ["今天这款{q}只要{m}元。", "库存只剩{d}件了，大家抓紧时间。", "买二送一，包邮到家。", "这个颜色非常百搭，欢迎下单。",
       "尺码有小号、中号和大号。", "点击下方链接马上购买。", "感谢大家观看直播间。"]
_ZH_P = ["外套", "口红", "面霜", "背包", "围巾", "茶具"]
TRAIN_VOICES = ["en-us", "en-us+m3", "en-us+f2", "en-us+f4", "en", "en-gb-x-rp", "cmn", "cmn+f3"]
VAL_VOICES = ["en-us+m7", "en-us+f5", "en-029", "cmn+m2"]


@dataclass
class Utterance:
    """One training example at 100 Hz.

    Attributes:
        mel: (F, 80) float32 log-mel.
        target: (F, K) float32 lip-shape coefficients (frame i: the mouth at i * 10 ms).
        mask: (F,) bool frames with a valid target.
        source: ``"real"``, ``"teacher"`` or ``"generated"``.
    """

    mel: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    source: str


def retime(target: np.ndarray, mask: np.ndarray, speed: float, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets of a copy played ``speed`` times faster: frame i is source time ``i * speed``.

    Args:
        target: (F, K) source targets at 100 Hz; mask: (F,) their validity.
        frames: frames of the copy.

    Returns:
        ((frames, K) float32 linearly interpolated targets, (frames,) bool mask: both neighbours valid).
    """
    t = np.arange(frames) * speed
    lo = np.clip(np.floor(t).astype(int), 0, len(target) - 1)
    hi = np.clip(lo + 1, 0, len(target) - 1)
    w = (t - lo)[:, None].astype(np.float32)
    out = target[lo] * (1 - w) + target[hi] * w
    ok = mask[lo] & mask[hi] & (t <= len(target) - 1)
    return out.astype(np.float32), ok


def _copies(pcm: np.ndarray, target: np.ndarray, mask: np.ndarray, source: str, copies: int,
            rng: np.random.Generator) -> list[Utterance]:
    """The clean recording plus ``copies`` augmented ones, each with its retimed targets."""
    versions = [Augmented(np.asarray(pcm, np.float32), 1.0, 1.0)] + [augment(pcm, rng) for _ in range(copies)]
    out = []
    for v in versions:
        mel = log_mel(v.pcm, v.warp)
        tgt, ok = retime(target, mask, v.speed, len(mel))
        out.append(Utterance(mel, tgt, ok, source))
    return out


def measured_targets(clip) -> tuple[np.ndarray, np.ndarray]:
    """100 Hz targets of a measured clip: its lips projected on the basis, linearly interpolated
    from video frames (frame t at t / fps s), with the contracts applied
    (:func:`dhsdk.train.visemes.close_bilabials`: p/b/m closed), except that silence away from
    speech keeps the measured shape with its gap at most :data:`BREATH_GAP` (:func:`breath`).

    Args:
        clip: a :class:`dhsdk.train.av_data.AVClip` with phones.

    Returns:
        ((F, K) float32, (F,) bool valid: the face was found on both sides, or silence).
    """
    from dhsdk.train.a2k_adapt import project

    frames = int(np.ceil(len(clip.pcm) / 16000 * FPS))
    coeffs = project(np.nan_to_num(clip.deltas))
    t = np.arange(frames) / FPS * clip.fps
    lo = np.clip(np.floor(t).astype(int), 0, len(coeffs) - 1)
    hi = np.clip(lo + 1, 0, len(coeffs) - 1)
    w = (t - lo)[:, None]
    target = coeffs[lo] * (1 - w) + coeffs[hi] * w
    found = clip.found[lo] & clip.found[hi]
    rest = ~visemes.speech_near(clip.phones, frames)
    parted = breath(target[rest])
    visemes.close_bilabials(target, clip.phones)
    target[rest] = parted
    return target.astype(np.float32), found | rest


def breath(coeffs: np.ndarray) -> np.ndarray:
    """Measured lip shapes in silence, scaled so the inner-lip gap is at most :data:`BREATH_GAP`.

    A speaker parts the lips to breathe in before speaking, and the breath is audible in the
    spectrum though not in the level (PROVENANCE.md of the a2k weights: how it was measured on
    GRID). Held to a slight parting, the gesture is learnt where the audio shows it while the
    mouth in silence stays closed (a gap under the 0.03 the contracts count as closed).

    Args:
        coeffs: (N, K) lip-shape coefficients of silent frames.

    Returns:
        (N, K) float32: each row scaled by min(1, BREATH_GAP / gap) (rows with no gap unchanged).
    """
    gap = mouth_opening(coeffs_to_deltas(coeffs))
    scale = np.where(gap > BREATH_GAP, BREATH_GAP / np.maximum(gap, 1e-9), 1.0)
    return (coeffs * scale[:, None]).astype(np.float32)


def real_utterances(clip, copies: int, rng: np.random.Generator) -> list[Utterance]:
    """A measured talking clip (with phones) as training examples: clean + ``copies`` augmented."""
    target, mask = measured_targets(clip)
    return _copies(clip.pcm, target, mask, "real", copies, rng)


def teacher_utterances(pcm: np.ndarray, phones: list[tuple[float, float, str]], copies: int,
                       rng: np.random.Generator, table: dict[str, np.ndarray] | None = None) -> list[Utterance]:
    """Real speech labelled by the recogniser's phone timings: clean + ``copies`` augmented.
    Silence away from speech has no target: the phones do not say whether the speaker breathed
    in there with the lips parted (:func:`breath`).

    Args:
        table: the viseme table (:func:`dhsdk.train.visemes.table` when None).
    """
    target = visemes.targets(phones, len(pcm) / 16000, table)
    return _copies(pcm, target, visemes.speech_near(phones, len(target)), "teacher", copies, rng)


def sentence(rng: random.Random, chinese: bool) -> str:
    """A random live-commerce sentence."""
    if chinese:
        return rng.choice(_ZH).format(q=rng.choice(_ZH_P), m=rng.randint(9, 999), d=rng.randint(2, 50))
    return rng.choice(_EN).format(p=rng.choice(_PRODUCTS), n=f"{rng.randint(5, 299)}.{rng.choice([0, 49, 99])}",
                                  d=rng.randint(2, 30))


def espeak_phones(events: list[tuple[float, str]], duration: float) -> list[tuple[float, float, str]]:
    """espeak-ng phoneme events (start s, mnemonic) as (start, end, ARPAbet) phones."""
    ordered = sorted(events) + [(duration, "_")]
    return [(t0, t1, visemes.from_espeak(ph)) for (t0, ph), (t1, _) in zip(ordered[:-1], ordered[1:]) if t1 > t0]


def make_utterance(seed: int, voices: list[str], copies: int = 0,
                   table: dict[str, np.ndarray] | None = None) -> list[Utterance]:
    """Synthesize and label one generated utterance (deterministic in ``seed``), targets through
    the viseme ``table`` (:func:`dhsdk.train.visemes.table` when None).

    Returns:
        The utterance as spoken (with 0-0.6 s of silence before and after, lightly augmented)
        and ``copies`` more strongly augmented.
    """
    from dhsdk.adapters.tts.espeak import EspeakTTS
    from dhsdk.audio import load_audio

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    voice = rng.choice(voices)
    text = " ".join(sentence(rng, voice.startswith("cmn")) for _ in range(rng.randint(1, 2)))
    chunk = EspeakTTS(voice, rate_wpm=rng.randint(120, 240), pitch=rng.randint(25, 75)).synthesize(text)
    pcm = load_audio((chunk.pcm, chunk.sample_rate))
    lead, tail = rng.uniform(0, 0.6), rng.uniform(0, 0.6)
    pcm = np.concatenate([np.zeros(int(lead * 16000), np.float32), pcm, np.zeros(int(tail * 16000), np.float32)])
    phones = espeak_phones([(t + lead, p) for t, p in chunk.phonemes], len(pcm) / 16000)
    target = visemes.targets(phones, len(pcm) / 16000, table)
    light = augment(pcm, nrng, speed=False, strong=False)
    mel = log_mel(light.pcm)
    n = min(len(mel), len(target))
    first = Utterance(mel[:n], target[:n], np.ones(n, bool), "generated")
    rest = _copies(pcm, target, np.ones(len(target), bool), "generated", copies, nrng)[1:]
    return [first] + rest


class Pool:
    """Utterances in one array, sampled as model batches.

    Args:
        utterances: the examples.
        past, future: mel frames before and after the window's centre (the model's window).
    """

    def __init__(self, utterances: list[Utterance], past: int, future: int):
        self.past, self.future = past, future
        gap = np.full((past + future, utterances[0].mel.shape[1]), silence_value(), np.float32)
        mels, targets, index, source = [gap], [np.zeros((len(gap), K), np.float32)], [], []
        offset = len(gap)
        self.sources = sorted({u.source for u in utterances})
        for u in utterances:
            n = min(len(u.mel), len(u.target))
            mels += [u.mel[:n], gap]
            targets += [u.target[:n], np.zeros((len(gap), K), np.float32)]
            valid = np.flatnonzero(u.mask[:n]) + offset
            index.append(valid)
            source.append(np.full(len(valid), self.sources.index(u.source), np.int8))
            offset += n + len(gap)
        self.mel = np.concatenate(mels)
        self.target = np.concatenate(targets)
        index, source = np.concatenate(index), np.concatenate(source)
        self.index = {name: index[source == j] for j, name in enumerate(self.sources)}
        self.valid = np.zeros(len(self.mel), bool)
        self.valid[index] = True

    def frames(self, source: str) -> int:
        """Valid target frames of one source."""
        return len(self.index.get(source, ()))

    def _counts(self, size: int, rng: np.random.Generator, weights: dict[str, float]) -> dict[str, int]:
        names = [s for s in self.sources if weights.get(s, 0) > 0 and self.frames(s)]
        p = np.array([weights[s] for s in names], np.float64)
        return dict(zip(names, rng.multinomial(size, p / p.sum())))

    def _windows(self, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = centres[:, None] + np.arange(-self.past, self.future + 1)[None]
        return np.ascontiguousarray(self.mel[idx].transpose(0, 2, 1)), self.target[centres]

    def batch(self, size: int, rng: np.random.Generator, weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """(size, 80, W) float32 mel windows and (size, K) targets, sources mixed by ``weights``."""
        counts = self._counts(size, rng, weights)
        return self._windows(np.concatenate([rng.choice(self.index[s], c) for s, c in counts.items()]))

    def sequences(self, count: int, length: int, stride: int, rng: np.random.Generator,
                  weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """``count`` runs of ``length`` consecutive video frames, ``stride`` mel frames apart (4 at
        25 fps), each inside one utterance with every target valid; sources mixed by ``weights``.

        Returns:
            (count * length, 80, W) float32 mel windows and (count * length, K) targets, run by run.
        """
        steps = stride * np.arange(length)
        centres = []
        for name, c in self._counts(count, rng, weights).items():
            for _ in range(c):
                for _ in range(1000):
                    run = rng.choice(self.index[name]) + steps
                    if run[-1] < len(self.valid) and self.valid[run].all():
                        break
                else:
                    raise ValueError(f"no run of {length} valid frames {stride} apart in the {name} utterances")
                centres.append(run)
        return self._windows(np.concatenate(centres))
