"""a2k quality on held-out voices and texts, and on real speech (mouth opening vs audio energy).

``python -m dhsdk.train.a2k_eval [--model a2k.onnx] [--utterances 40] [--wav file.wav ...]``
prints one JSON line of metrics.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from dhsdk.geometry import CORNERS, INNER_BOTTOM, INNER_TOP

FPS = 25
CLOSED = 0.03  # inner-lip gap (canonical units) under which the mouth counts as closed


def _opening(deltas: np.ndarray) -> np.ndarray:
    from dhsdk.models.lipshape import template

    lips = template()[None] + deltas
    return lips[:, INNER_BOTTOM, 1] - lips[:, INNER_TOP, 1]


def held_out(model, utterances: int, seed: int = 7777) -> dict:
    """Metrics vs targets on validation voices with unseen random texts."""
    from dhsdk.models.a2k_runner import mel_windows
    from dhsdk.models.lipshape import coeffs_to_deltas, template
    from dhsdk.train.a2k_data import VAL_VOICES, make_utterance

    width = template()[CORNERS[1], 0] - template()[CORNERS[0], 0]
    errs, po, to, sil, pbm, onset = [], [], [], [], [], []
    for i in range(utterances):
        u = make_utterance(seed + i, VAL_VOICES)
        n = len(u.mel) * 160
        pcm_frames = np.arange(round(n / 16000 * FPS))
        idx = np.minimum(np.floor(pcm_frames * 100 / FPS).astype(int), len(u.target) - 1)
        tgt = coeffs_to_deltas(u.target[idx])
        pred = model.infer(mel_windows(u.mel, 0, idx))
        errs.append(np.linalg.norm(pred - tgt, axis=-1).mean(1) / width)
        po.append(_opening(pred))
        to.append(_opening(tgt))
        silent = np.all(u.target[idx] == 0, axis=1)
        sil.append(_opening(pred)[silent] < CLOSED)
        pbm.append(_opening(pred)[u.target[idx, 5] == 1] < CLOSED)
        t_on, p_on = np.argmax(_opening(tgt) > CLOSED), np.argmax(_opening(pred) > CLOSED)
        onset.append(abs(int(t_on) - int(p_on)))
    po, to = np.concatenate(po), np.concatenate(to)
    return {"keypoint_err_over_mouth_width": float(np.concatenate(errs).mean()),
            "opening_corr": float(np.corrcoef(po, to)[0, 1]),
            "pbm_closed_frac": float(np.concatenate(pbm).mean()),
            "silence_closed_frac": float(np.concatenate(sil).mean()),
            "onset_within_2_frames_frac": float(np.mean(np.array(onset) <= 2))}


def real_speech(model, path: str) -> dict:
    """Correlation (and best lag in frames) of predicted opening with RMS energy of the audio."""
    from dhsdk.audio import load_audio

    pcm = load_audio(path)
    op = _opening(model.predict(pcm, FPS))
    hop = 16000 // FPS
    energy = np.sqrt(np.array([np.mean(pcm[i * hop:(i + 1) * hop] ** 2) for i in range(len(op))]) + 1e-12)
    energy = np.log(energy)
    lags = range(-5, 6)
    corr = [np.corrcoef(op[max(0, k):len(op) + min(0, k)], energy[max(0, -k):len(op) - max(0, k)])[0, 1] for k in lags]
    best = int(np.nanargmax(corr))
    return {"file": path, "corr_lag0": float(corr[5]), "best_lag_frames": list(lags)[best],
            "best_corr": float(corr[best]), "frames_open_frac": float(np.mean(op > CLOSED))}


def main() -> None:
    from dhsdk.models.a2k_runner import A2K

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default=None)
    p.add_argument("--utterances", type=int, default=40)
    p.add_argument("--wav", nargs="*", default=[])
    args = p.parse_args()
    model = A2K.load(args.model)
    print(json.dumps({"held_out": held_out(model, args.utterances), "real": [real_speech(model, w) for w in args.wav]}))


if __name__ == "__main__":
    main()
