"""Phones -> lip-shape targets: the viseme table learned from real lips, and co-articulated target
curves for any phone timing (the teacher's labels, the generated speech's labels).

A phone sequence becomes a target curve at 100 Hz (:func:`targets`) by a linear model of
articulation: each phone holds its viseme (K lip-shape coefficients, :mod:`dhsdk.models.lipshape`)
over its duration, silence holds the neutral mouth (all zeros), and a Gaussian of
:data:`COARTICULATION_S` blends neighbours. Bilabials (p, b, m) then close the lips over the
middle of their span, and silence away from speech is exactly neutral (the contracts of a2k).

Because the curve is linear in the table, the table that makes it fit real lips best is a least-
squares problem: :func:`fit_table` solves it on clips with measured lips and force-aligned phones
(GRID, :mod:`dhsdk.train.av_data`). The shipped table (``assets/a2k/visemes.json``) was fitted that
way on the GRID training sentences (CC BY 4.0, see PROVENANCE.md); phones GRID never says keep the
hand-made fallback of :data:`FALLBACK`.

Generated speech comes labelled in espeak-ng's phoneme mnemonics; :func:`from_espeak` maps them
(English and Mandarin) onto ARPAbet so one table serves every source.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from dhsdk.audio.phones import ARPABET, BILABIAL
from dhsdk.models.lipshape import K

FPS = 100                      # target frames per second (the mel rate)
COARTICULATION_S = 0.035       # sigma of the Gaussian that blends neighbouring phones
CLOSURE_SHARE = 0.5            # bilabials are fully closed over this middle share of their span
SILENCE_HOLD_S = 0.06          # silence further than this from a phone is exactly neutral
TABLE_PATH = Path(__file__).resolve().parents[1] / "assets" / "a2k" / "visemes.json"
_CLOSED = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0], np.float32)

# Hand-made visemes (jaw_open, spread, round, upper_raise, lower_tuck, press) for phones the
# fitted table lacks; the same articulation classes the first a2k model was trained on.
FALLBACK: dict[str, tuple[float, ...]] = {
    "AA": (0.85, 0.1, 0, 0.2, 0, 0), "AE": (0.7, 0.3, 0, 0.2, 0, 0), "AH": (0.5, 0, 0, 0.1, 0, 0),
    "AO": (0.6, 0, 0.6, 0, 0, 0), "AW": (0.7, 0, 0.4, 0.1, 0, 0), "AY": (0.7, 0.3, 0, 0.1, 0, 0),
    "EH": (0.55, 0.4, 0, 0.1, 0, 0), "ER": (0.4, 0, 0.3, 0.1, 0, 0), "EY": (0.45, 0.5, 0, 0.1, 0, 0),
    "IH": (0.35, 0.6, 0, 0.1, 0, 0), "IY": (0.3, 0.8, 0, 0.1, 0, 0), "OW": (0.45, 0, 0.8, 0, 0, 0),
    "OY": (0.5, 0, 0.6, 0, 0, 0), "UH": (0.3, 0, 0.7, 0, 0, 0), "UW": (0.25, 0, 1.0, 0, 0, 0),
    "W": (0.15, 0, 1.0, 0, 0, 0), "Y": (0.2, 0.6, 0, 0, 0, 0), "R": (0.25, 0, 0.4, 0, 0, 0),
    "L": (0.3, 0.2, 0, 0.1, 0, 0), "F": (0.1, 0, 0, 0.3, 1.0, 0), "V": (0.1, 0, 0, 0.3, 1.0, 0),
    "TH": (0.2, 0.2, 0, 0.2, 0, 0), "DH": (0.2, 0.2, 0, 0.2, 0, 0), "S": (0.15, 0.4, 0, 0.1, 0, 0),
    "Z": (0.15, 0.4, 0, 0.1, 0, 0), "SH": (0.2, 0, 0.6, 0.3, 0, 0), "ZH": (0.2, 0, 0.6, 0.3, 0, 0),
    "CH": (0.2, 0, 0.6, 0.3, 0, 0), "JH": (0.2, 0, 0.6, 0.3, 0, 0), "T": (0.2, 0.2, 0, 0.1, 0, 0),
    "D": (0.2, 0.2, 0, 0.1, 0, 0), "N": (0.2, 0.2, 0, 0.1, 0, 0), "K": (0.25, 0.1, 0, 0.1, 0, 0),
    "G": (0.25, 0.1, 0, 0.1, 0, 0), "NG": (0.25, 0.1, 0, 0.1, 0, 0), "HH": (0.35, 0, 0, 0.1, 0, 0),
    "P": tuple(_CLOSED), "B": tuple(_CLOSED), "M": tuple(_CLOSED), "SIL": (0, 0, 0, 0, 0, 0),
}

# espeak-ng mnemonic (stress marks stripped) -> ARPAbet, longest prefix first; English and Mandarin.
_ESPEAK = {"aI": "AY", "aU": "AW", "eI": "EY", "oU": "OW", "@U": "OW", "OI": "OY", "i:": "IY", "u:": "UW",
           "A:": "AA", "O:": "AO", "3:": "ER", "tS": "CH", "dZ": "JH", "ts": "S", "ph": "P", "th": "T",
           "kh": "K", "s.": "SH", "ai": "AY", "au": "AW", "Au": "AW", "ou": "OW", "ei": "EY", "iE": "IY",
           "y&": "UW", "3": "ER", "@": "AH", "V": "AH", "I": "IH", "E": "EH", "a": "AA", "A": "AA", "0": "AA",
           "O": "AO", "U": "UH", "i": "IY", "u": "UW", "e": "EH", "o": "OW", "y": "UW", "T": "TH", "D": "DH",
           "S": "SH", "Z": "ZH", "N": "NG", "h": "HH", "x": "HH", "j": "Y", "w": "W", "r": "R", "l": "L",
           "p": "P", "b": "B", "m": "M", "f": "F", "v": "V", "t": "T", "d": "D", "k": "K", "g": "G", "s": "S",
           "z": "Z", "n": "N"}


def from_espeak(mnemonic: str) -> str:
    """ARPAbet label of an espeak-ng phoneme mnemonic (``"'aI"`` -> ``"AY"``; pauses -> ``"SIL"``)."""
    core = mnemonic.lstrip("'\",%=").strip()
    if not core or core[0] in "_(":
        return "SIL"
    for n in (2, 1):
        label = _ESPEAK.get(core[:n])
        if label is not None:
            return label
    return "AH"


@functools.lru_cache(maxsize=1)
def table() -> dict[str, np.ndarray]:
    """The viseme table in use: (K,) float32 coefficients per ARPAbet label.

    The fitted table of ``assets/a2k/visemes.json`` where it exists, :data:`FALLBACK` for the rest.
    """
    fitted = json.loads(TABLE_PATH.read_text())["visemes"] if TABLE_PATH.is_file() else {}
    return complete(fitted)


def complete(fitted: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A full table: every ARPAbet phone, from ``fitted`` where it has one, else :data:`FALLBACK`."""
    out = {k: np.asarray(v, np.float32) for k, v in FALLBACK.items()}
    out.update({k: np.asarray(v, np.float32) for k, v in fitted.items()})
    return out


def _kernel(sigma_s: float) -> np.ndarray:
    half = int(np.ceil(3 * sigma_s * FPS))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / (sigma_s * FPS)) ** 2)
    return k / k.sum()


def _smooth(x: np.ndarray, sigma_s: float) -> np.ndarray:
    """Gaussian smoothing of each column of (F, C), edges padded with zeros (silence)."""
    k = _kernel(sigma_s)
    return np.stack([np.convolve(x[:, c], k, mode="same") for c in range(x.shape[1])], 1)


def indicators(phones: list[tuple[float, float, str]], frames: int,
               labels: tuple[str, ...] = ARPABET) -> np.ndarray:
    """(F, P) float32 share of each 10 ms target frame covered by each label (silence included).

    Frame ``i`` spans ``[i, i + 1) * 10 ms``; the rows of frames covered by phones sum to 1.
    """
    col = {lab: j for j, lab in enumerate(labels)}
    out = np.zeros((frames, len(labels)), np.float32)
    edges = np.arange(frames + 1) / FPS
    for start, end, label in phones:
        j = col.get(label)
        if j is None or end <= start:
            continue
        a, b = max(0, int(np.floor(start * FPS))), min(frames, int(np.ceil(end * FPS)))
        for i in range(a, b):
            out[i, j] += max(0.0, min(end, edges[i + 1]) - max(start, edges[i])) * FPS
    return out


def targets(phones: list[tuple[float, float, str]], duration: float, visemes: dict[str, np.ndarray] | None = None,
            sigma_s: float = COARTICULATION_S) -> np.ndarray:
    """Co-articulated lip-shape targets of a phone timing.

    Args:
        phones: (start s, end s, ARPAbet label) in time order; gaps are silence.
        duration: seconds of signal.
        visemes: label -> (K,) coefficients; :func:`table` when None.
        sigma_s: co-articulation blur.

    Returns:
        (ceil(duration * 100), K) float32 targets at 100 Hz: frame ``i`` is the mouth at ``i`` * 10 ms.
    """
    visemes = table() if visemes is None else visemes
    n = int(np.ceil(duration * FPS))
    labels = tuple(visemes)
    ind = indicators(phones, n, labels)
    v = np.stack([visemes[lab] for lab in labels])
    out = _smooth(ind @ v, sigma_s)
    return close_bilabials(out, phones).astype(np.float32)


def speech_near(phones: list[tuple[float, float, str]], frames: int) -> np.ndarray:
    """(frames,) bool: 100 Hz frames within :data:`SILENCE_HOLD_S` of a spoken (non-silence) phone."""
    speech = np.zeros(frames, bool)
    for start, end, label in phones:
        if label != "SIL":
            speech[max(0, int(np.floor(start * FPS))):min(frames, int(np.ceil(end * FPS)))] = True
    hold = int(round(SILENCE_HOLD_S * FPS))
    return np.convolve(speech.astype(np.float32), np.ones(2 * hold + 1), mode="same") > 0


def close_bilabials(target: np.ndarray, phones: list[tuple[float, float, str]]) -> np.ndarray:
    """Apply the two contracts to (F, K) 100 Hz targets, in place: p/b/m close the lips over the
    middle :data:`CLOSURE_SHARE` of their span, and silence away from speech is neutral (0).

    Returns:
        ``target``.
    """
    n = len(target)
    for start, end, label in phones:
        a, b = max(0, int(np.floor(start * FPS))), min(n, int(np.ceil(end * FPS)))
        if label in BILABIAL and b > a:
            pad = int(round((b - a) * (1 - CLOSURE_SHARE) / 2))
            target[a + pad:max(a + pad + 1, b - pad)] = _CLOSED
    target[~speech_near(phones, n)] = 0.0
    return target


def fit_table(examples: list[tuple[list[tuple[float, float, str]], np.ndarray, np.ndarray]],
              sigma_s: float = COARTICULATION_S, ridge: float = 0.3) -> dict[str, np.ndarray]:
    """The viseme table whose :func:`targets` curves best fit measured lips (linear least squares).

    Args:
        examples: (phones, times (T,) seconds of the measured frames, (T, K) measured coefficients)
            per clip; frames with NaN coefficients are skipped.
        sigma_s: the co-articulation blur the table will be used with.
        ridge: pull towards :data:`FALLBACK`, per observed frame of a phone: rare phones stay near
            the hand-made shapes, common ones follow the data.

    Returns:
        label -> (K,) float32 for every ARPAbet phone seen at least once (silence stays 0; p/b/m
        are closed by :func:`targets` whatever the table says). A fitted shape whose lips would
        overlap (negative inner gap: the linear fit compensating for its neighbours) is moved
        towards its hand-made shape until the gap is 0.
    """
    from dhsdk.geometry import mouth_opening
    from dhsdk.models.lipshape import coeffs_to_deltas, template

    labels = tuple(lab for lab in ARPABET if lab != "SIL")
    rows, ys = [], []
    for phones, times, coeffs in examples:
        frames = int(np.ceil((times.max() + 0.1) * FPS))
        blur = _smooth(indicators(phones, frames, labels), sigma_s)
        idx = np.clip(np.round(times * FPS).astype(int), 0, frames - 1)
        ok = ~np.isnan(coeffs).any(1)
        rows.append(blur[idx[ok]])
        ys.append(coeffs[ok])
    a, y = np.concatenate(rows).astype(np.float64), np.concatenate(ys).astype(np.float64)
    seen = a.sum(0)
    prior = np.stack([np.asarray(FALLBACK[lab], np.float64) for lab in labels])
    lam = np.diag(ridge * np.maximum(seen, 1.0))
    v = np.linalg.solve(a.T @ a + lam, a.T @ y + lam @ prior)
    out = {}
    for j, lab in enumerate(labels):
        if seen[j] <= 0.5:
            continue
        fitted, hand = v[j].astype(np.float32), prior[j].astype(np.float32)
        gap = lambda c: float(mouth_opening(template() + coeffs_to_deltas(c)))  # noqa: E731
        if lab not in BILABIAL and gap(fitted) < 0:
            w = gap(hand) and -gap(fitted) / (gap(hand) - gap(fitted))   # the blend whose gap is 0
            fitted = (1 - w) * fitted + w * hand
        out[lab] = fitted
    return out
