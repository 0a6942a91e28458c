"""Piper TTS with a voice loaded from a path: a tiny VITS-shaped voice built here (a tone
generator with Piper's inputs and outputs), run by the real piper-tts package."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from dhsdk.errors import InputError

TONE_HZ, RATE, HOP = 220.0, 22050, 256


def build_voice(directory):
    """A Piper voice whose model turns N phoneme ids into N * hop * length_scale samples of a tone."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    def const(name, value):
        return helper.make_node("Constant", [], [name], value=helper.make_tensor(name, TensorProto.FLOAT, [], [value]))

    nodes = [
        helper.make_node("Shape", ["input"], ["shape"]),
        helper.make_node("Gather", ["shape", "one_i"], ["n"], axis=0),
        helper.make_node("Cast", ["n"], ["n_f"], to=TensorProto.FLOAT),
        helper.make_node("Gather", ["scales", "one_i"], ["length_scale"], axis=0),
        const("hop", float(HOP)), const("zero", 0.0), const("step", 1.0), const("omega", 2 * np.pi * TONE_HZ / RATE),
        const("gain", 0.5),
        helper.make_node("Mul", ["n_f", "hop"], ["t0"]),
        helper.make_node("Mul", ["t0", "length_scale"], ["t1"]),
        helper.make_node("Floor", ["t1"], ["samples"]),
        helper.make_node("Range", ["zero", "samples", "step"], ["t"]),
        helper.make_node("Mul", ["t", "omega"], ["phase"]),
        helper.make_node("Sin", ["phase"], ["wave"]),
        helper.make_node("Mul", ["wave", "gain"], ["audio_1d"]),
        helper.make_node("Reshape", ["audio_1d", "out_shape"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "tone_voice",
        [helper.make_tensor_value_info("input", TensorProto.INT64, [1, "n"]),
         helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 1, "t"])],
        initializer=[helper.make_tensor("one_i", TensorProto.INT64, [], [1]),
                     helper.make_tensor("out_shape", TensorProto.INT64, [4], [1, 1, 1, -1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = directory / "tone.onnx"
    onnx.save(model, path)
    config = {"audio": {"sample_rate": RATE}, "espeak": {"voice": "en-us"}, "num_symbols": 256,
              "num_speakers": 1, "phoneme_id_map": DEFAULT_PHONEME_ID_MAP,
              "inference": {"noise_scale": 0.667, "length_scale": 1.0, "noise_w": 0.8}}
    (directory / "tone.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    return path


def test_missing_voice_files_are_named_with_the_fix(tmp_path):
    from dhsdk.adapters.tts.piper import PiperTTS

    with pytest.raises(InputError, match="voice model .*does not exist.*never downloads"):
        PiperTTS(tmp_path / "nope.onnx")
    (tmp_path / "v.onnx").write_bytes(b"")
    with pytest.raises(InputError, match="voice config"):
        PiperTTS(tmp_path / "v.onnx")


@pytest.mark.skipif(importlib.util.find_spec("piper") is not None, reason="piper-tts is installed here")
def test_without_piper_tts_the_error_says_how_to_install_it(tmp_path):
    from dhsdk.adapters.tts.piper import PiperTTS

    (tmp_path / "v.onnx").write_bytes(b"")
    (tmp_path / "v.onnx.json").write_text("{}")
    with pytest.raises(ImportError, match="pip install piper-tts"):
        PiperTTS(tmp_path / "v.onnx")


def test_a_voice_from_a_path_speaks_sentence_by_sentence(tmp_path):
    pytest.importorskip("piper", reason="piper-tts is not installed (pip install piper-tts)")
    from dhsdk.adapters.tts.piper import PiperTTS

    path = build_voice(tmp_path)
    text = "Only $19.99 today. Model SKU-2024.A ships tomorrow, and it comes in four colours!"
    chunks = list(PiperTTS(path).synthesize_stream(text))
    assert [c.text for c in chunks] == ["Only $19.99 today.", "Model SKU-2024.A ships tomorrow, and it comes in "
                                        "four colours!"]
    assert chunks[0].sample_rate == RATE and chunks[1].pts == pytest.approx(chunks[0].duration)
    assert chunks[1].duration > chunks[0].duration > 0.1  # more phonemes, more audio
    spectrum = np.abs(np.fft.rfft(chunks[1].pcm))
    assert np.fft.rfftfreq(len(chunks[1].pcm), 1 / RATE)[spectrum.argmax()] == pytest.approx(TONE_HZ, abs=2)
    slow = PiperTTS(path, length_scale=2.0).synthesize(text)
    assert slow.duration == pytest.approx(2 * sum(c.duration for c in chunks), rel=0.02)


def test_a_file_that_is_not_a_voice_model_is_a_clear_error(tmp_path):
    pytest.importorskip("piper", reason="piper-tts is not installed (pip install piper-tts)")
    from dhsdk.adapters.tts.piper import PiperTTS

    build_voice(tmp_path)
    (tmp_path / "tone.onnx").write_bytes(b"not onnx")
    with pytest.raises(InputError, match="not a usable ONNX model"):
        PiperTTS(tmp_path / "tone.onnx")
