"""The frame store: JPEG round trip within a stated error, random access in any order, the
LRU cache's memory bound, preloading, and damaged files as BundleError."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import avatar_material as gen
from dhsdk.avatar.framestore import FrameStore, FrameStoreWriter
from dhsdk.errors import BundleError

SIZE = (256, 192)   # width, height
# JPEG q93 with 4:2:0 chroma on these frames: mean absolute error <= 1.7 levels, PSNR >= 40 dB
# (measured). Bounds: MAE < 3, PSNR > 35 dB; the neighbouring frame (an index off by one) is
# at MAE 7.4, PSNR 24 dB.
MAE = 3.0
PSNR_DB = 35.0


def _frames(n: int) -> list[np.ndarray]:
    affines = gen.moving_affines(n, 25.0, SIZE, face_px=90.0, amplitude=2.0)
    return [gen.warp(gen.astronaut(), a, SIZE) for a in affines]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b) ** 2).mean())
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


@pytest.fixture(scope="module")
def store_files(tmp_path_factory):
    """(path, offsets, source frames) of a 30-frame store."""
    path = tmp_path_factory.mktemp("store") / "frames.jpg"
    frames = _frames(30)
    writer = FrameStoreWriter(path)
    for f in frames:
        writer.add(f)
    return path, writer.close(), frames


def test_round_trip_error_is_bounded(store_files):
    path, offsets, frames = store_files
    store = FrameStore(path, offsets, (SIZE[1], SIZE[0]))
    assert len(store) == 30 and offsets.dtype == np.int64 and offsets[0] == 0
    for i in (0, 29, 7, 7, 15, 3):   # any order, repeats
        got = store[i]
        assert got.shape == (SIZE[1], SIZE[0], 3) and got.dtype == np.uint8
        assert np.abs(got.astype(np.float64) - frames[i]).mean() < MAE
        assert _psnr(got, frames[i]) > PSNR_DB
    # distinct frames are distinguishable (the index is not off by one)
    assert _psnr(store[10], frames[11]) < _psnr(store[10], frames[10]) - 3


def test_frames_are_read_only(store_files):
    path, offsets, _ = store_files
    store = FrameStore(path, offsets, (SIZE[1], SIZE[0]))
    with pytest.raises(ValueError):
        store[0][0, 0, 0] = 1


def test_index_out_of_range(store_files):
    path, offsets, _ = store_files
    store = FrameStore(path, offsets, (SIZE[1], SIZE[0]))
    for bad in (-1, 30, 10 ** 6):
        with pytest.raises(IndexError, match="out of range"):
            store[bad]


def test_lru_cache_is_bounded_in_bytes(store_files):
    path, offsets, _ = store_files
    frame_mb = SIZE[0] * SIZE[1] * 3 / 2 ** 20
    store = FrameStore(path, offsets, (SIZE[1], SIZE[0]), cache_mb=4.5 * frame_mb)
    assert store.capacity == 4
    first = store[0]
    assert store[0] is first                     # a hit returns the cached frame
    for i in range(1, 4):
        store[i]
    store[0]                                     # touch 0: now the most recent
    store[4]                                     # evicts the least recent, 1
    assert store[0] is first
    assert len(store._cache) <= store.capacity
    for i in range(30):
        store[i]
        assert len(store._cache) <= store.capacity
    assert store[0] is not first                 # long evicted, decoded again
    assert np.array_equal(store[0], first)       # to the same pixels


def test_cache_of_at_least_one_frame(store_files):
    path, offsets, _ = store_files
    assert FrameStore(path, offsets, (SIZE[1], SIZE[0]), cache_mb=0).capacity == 1


def test_preload_fills_the_cache(store_files):
    path, offsets, _ = store_files
    store = FrameStore(path, offsets, (SIZE[1], SIZE[0]))
    store.preload(range(5, 12), wait=True)
    assert sorted(store._cache) == list(range(5, 12))
    store.preload(range(20, 25))            # in the background ...
    store.preload(range(20, 25), wait=True)  # ... and a second call joins it rather than decoding twice
    assert set(range(20, 25)) <= set(store._cache)
    assert not store._preloader.is_alive()


def test_stop_preload_joins_the_worker(store_files):
    """What the exit hook relies on: stop_preload() returns with the worker finished."""
    path, offsets, _ = store_files
    store = FrameStore(path, offsets, (SIZE[1], SIZE[0]))
    store.preload(range(len(store)))
    store.stop_preload()
    assert not store._preloader.is_alive()


def test_concurrent_reads(store_files):
    path, offsets, frames = store_files
    store = FrameStore(path, offsets, (SIZE[1], SIZE[0]), cache_mb=1)
    errors = []

    def read(seed):
        rng = np.random.default_rng(seed)
        for i in rng.integers(0, 30, 60):
            if np.abs(store[i].astype(np.float64) - frames[i]).mean() >= MAE:
                errors.append(int(i))

    threads = [threading.Thread(target=read, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_writer_refuses_a_frame_of_another_size(tmp_path):
    writer = FrameStoreWriter(tmp_path / "frames.jpg")
    writer.add(np.zeros((20, 30, 3), np.uint8))
    with pytest.raises(ValueError, match="frame 1 is"):
        writer.add(np.zeros((30, 20, 3), np.uint8))
    writer.close()


def test_missing_file(tmp_path):
    with pytest.raises(BundleError, match="missing"):
        FrameStore(tmp_path / "frames.jpg", np.array([0, 10]), (10, 10))


@pytest.mark.parametrize("damage", ["truncated", "longer", "bad_offsets", "empty_index"])
def test_file_that_does_not_match_its_index(store_files, tmp_path, damage):
    path, offsets, _ = store_files
    data = path.read_bytes()
    copy = tmp_path / "frames.jpg"
    copy.write_bytes(data[:-100] if damage == "truncated" else data + b"\0" * 10 if damage == "longer" else data)
    index = {"bad_offsets": offsets[::-1], "empty_index": np.array([0])}.get(damage, offsets)
    with pytest.raises(BundleError, match="damaged"):
        FrameStore(copy, index, (SIZE[1], SIZE[0]))


def test_corrupt_frame_bytes(store_files, tmp_path):
    path, offsets, _ = store_files
    data = bytearray(path.read_bytes())
    data[offsets[3]:offsets[3] + 64] = b"\0" * 64   # frame 3's JPEG header
    copy = tmp_path / "frames.jpg"
    copy.write_bytes(bytes(data))
    store = FrameStore(copy, offsets, (SIZE[1], SIZE[0]))
    store[2]
    with pytest.raises(BundleError, match="frame 3 .* cannot be decoded"):
        store[3]


def test_frames_of_another_size_than_the_manifest(store_files):
    path, offsets, _ = store_files
    store = FrameStore(path, offsets, (SIZE[0], SIZE[1]))   # width and height swapped
    with pytest.raises(BundleError, match="cannot be decoded"):
        store[0]
