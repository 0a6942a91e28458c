"""dhsdk._C.warp: the piecewise-affine map against a float64 numpy reference written from the
formula, the emulated CUDA launch against the OpenMP path, and boundary checks."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk import _C

S = 64


def grid_mesh(n: int, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """(n*n, 2) vertices of a square grid over [lo, hi]^2 and its (2(n-1)^2, 3) triangles."""
    t = np.linspace(lo, hi, n)
    xs, ys = np.meshgrid(t, t)
    verts = np.stack([xs.ravel(), ys.ravel()], 1)
    tris = []
    for r in range(n - 1):
        for c in range(n - 1):
            a, b, d, e = r * n + c, r * n + c + 1, (r + 1) * n + c, (r + 1) * n + c + 1
            tris += [(a, b, e), (a, e, d)]
    return verts, np.array(tris, np.int32)


def perturbed(verts: np.ndarray, n: int, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Interior grid vertices moved by up to ``amount`` px (small enough not to fold)."""
    out = verts.copy()
    border = np.zeros((n, n), bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    out[~border.ravel()] += rng.uniform(-amount, amount, (int((~border).sum()), 2))
    return out


def reference_warp(img: np.ndarray, src: np.ndarray, dst: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 reference: for each pixel centre p in destination triangle (d0, d1, d2) with
    p = d0 + l1 (d1 - d0) + l2 (d2 - d0), sample img bilinearly (edge-clamped) at
    s0 + l1 (s1 - s0) + l2 (s2 - s0); pixels in no triangle keep img. Returns the float image
    and the mask of pixels whose barycentric coordinates are all >= 1e-3 (clear of edges)."""
    h, w = img.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    out = img.astype(np.float64).copy()
    clear = np.zeros((h, w), bool)
    done = np.zeros((h, w), bool)
    for i0, i1, i2 in tris:
        d0, e1, e2 = dst[i0], dst[i1] - dst[i0], dst[i2] - dst[i0]
        det = e1[0] * e2[1] - e2[0] * e1[1]
        if abs(det) < 1e-9:
            continue
        px, py = xs - d0[0], ys - d0[1]
        l1 = (e2[1] * px - e2[0] * py) / det
        l2 = (-e1[1] * px + e1[0] * py) / det
        l0 = 1 - l1 - l2
        inside = (l1 >= -1e-9) & (l2 >= -1e-9) & (l0 >= -1e-9) & ~done
        sx = src[i0, 0] + l1 * (src[i1, 0] - src[i0, 0]) + l2 * (src[i2, 0] - src[i0, 0])
        sy = src[i0, 1] + l1 * (src[i1, 1] - src[i0, 1]) + l2 * (src[i2, 1] - src[i0, 1])
        cx, cy = np.clip(sx, 0, w - 1), np.clip(sy, 0, h - 1)
        x0, y0 = np.floor(cx).astype(int), np.floor(cy).astype(int)
        x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
        fx, fy = (cx - x0)[..., None], (cy - y0)[..., None]
        f = img.astype(np.float64)
        top = f[y0, x0] * (1 - fx) + f[y0, x1] * fx
        bot = f[y1, x0] * (1 - fx) + f[y1, x1] * fx
        val = top * (1 - fy) + bot * fy
        out[inside] = val[inside]
        clear |= inside & (np.minimum(np.minimum(l0, l1), l2) >= 1e-3)
        done |= inside
    return out, clear


def call(fn, img, src, dst, tris, n_mouth=0, **over):
    """Call a warp binding with a closed mouth everywhere (pure warp) unless overridden."""
    lut = np.zeros((img.shape[0], 2), np.float32)
    args = dict(src=img, ref=img, src_pts=src.astype(np.float32), dst_pts=dst.astype(np.float32), tris=tris,
                n_mouth=n_mouth, lut=lut, src_lut=lut, ref_lut=lut, dx_src=0.0, dx_ref=0.0, cx=img.shape[0] / 2,
                half_w=10.0, gain=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0), cavity=(40.0, 20.0, 20.0),
                teeth=(230.0, 225.0, 210.0), key=(0.0, 0.0), teeth_h=6.0, soft=1.0)
    args.update(over)
    return fn(**args)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_warp_matches_float64_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (S, S, 3), dtype=np.uint8)
    n = 6
    verts, tris = grid_mesh(n, 8.3, 55.7)      # a sub-square: pixels outside stay as they are
    src = perturbed(verts, n, rng, 3.0)
    dst = perturbed(verts, n, rng, 3.0)
    got = call(_C.warp, img, src, dst, tris)
    ref, clear = reference_warp(img, src, dst, tris)
    # float32 barycentrics and taps vs float64: sample positions agree to ~1e-4 px, so on a
    # noise image (gradients up to 255/px) values differ by < 0.1 before rounding -> +-1 level.
    diff = np.abs(got.astype(np.float64) - ref)
    assert diff.max() <= 1.0
    # Pixels on shared edges may be claimed by either triangle; the map is continuous there,
    # so they obey the same bound (checked above); most pixels are clear of every edge.
    assert clear.mean() > 0.4
    outside = np.ones((S, S), bool)
    outside[9:56, 9:56] = False
    assert np.array_equal(got[outside], img[outside])


def test_identity_mesh_returns_the_crop() -> None:
    img = np.random.default_rng(3).integers(0, 256, (S, S, 3), dtype=np.uint8)
    verts, tris = grid_mesh(5, 0.0, S - 1.0)
    assert np.array_equal(call(_C.warp, img, verts, verts, tris), img)


def test_translation_moves_content_exactly() -> None:
    img = np.random.default_rng(4).integers(0, 256, (S, S, 3), dtype=np.uint8)
    verts, tris = grid_mesh(5, 4.0, 59.0)
    out = call(_C.warp, img, verts, verts + [2.0, 3.0], tris)
    # dst pixel (x, y) reads src (x - 2, y - 3), an integer position: an exact copy.
    assert np.array_equal(out[10:55, 10:55], img[7:52, 8:53])


def renderer_args(size: int = 96, case: str = "procedural") -> tuple:
    """Kernel arguments of a full renderer call (mouth synthesis on).

    Cases: ``procedural`` (a synthetic face whose reference shows no teeth, the jaw opened),
    ``teeth bank`` (the astronaut's closed mouth opened wide: her own teeth, keyed) and
    ``own mouth`` (her open mouth narrowed: the source's own mouth)."""
    from dhsdk.render.warp import WarpRenderer

    if case == "procedural":
        from dhsdk.bench.synthetic import SyntheticAvatar
        from dhsdk.geometry import apply_affine

        avatar = SyntheticAvatar(240, 320, frames=3)
        r = WarpRenderer.from_avatar(avatar, size=size)
        src = apply_affine(avatar.canonical_to_crop(size), avatar.neutral_lips).astype(np.float32)
        dst = src.copy()
        dst[1:10, 1] += 0.12 * size                  # open the jaw
        dst[21:30, 1] += 0.12 * size
        crop = np.random.default_rng(5).integers(0, 256, (size, size, 3), dtype=np.uint8)
        return r.kernel_args(crop, src, dst)
    pytest.importorskip("mediapipe")
    from warp_fixtures import astronaut, target

    face = astronaut(size)
    lips = face["lips"]
    r = WarpRenderer(face["mask"], lips, face["crop"], lips, blur_px=1.7)
    if case == "teeth bank":
        closed_lips = target(lips, size)
        closed = WarpRenderer(face["mask"], lips, face["crop"], lips).render(face["crop"], lips, closed_lips)
        return r.kernel_args(closed, closed_lips, target(lips, size, jaw_open=0.8))
    return r.kernel_args(face["crop"], lips, target(lips, size, jaw_open=0.3))


@pytest.mark.parametrize("case", ["procedural", "teeth bank", "own mouth"])
def test_emulated_launch_equals_openmp_path(case: str) -> None:
    args = renderer_args(case=case)
    cpu = _C.warp(*args)
    emu = _C.emulated.warp(*args)
    assert np.array_equal(cpu, emu)
    assert not np.array_equal(cpu, args[0])      # the call did change the crop


def test_bad_arguments_raise_value_error_naming_shapes() -> None:
    img = np.zeros((S, S, 3), np.uint8)
    verts, tris = grid_mesh(3, 5.0, 50.0)
    with pytest.raises(ValueError, match=r"dst_pts must have the shape of src_pts \(9, 2\)"):
        call(_C.warp, img, verts, verts[:5], tris)
    with pytest.raises(ValueError, match="NaN"):
        call(_C.warp, img, verts, np.where(np.arange(9)[:, None] == 4, np.nan, verts), tris)
    with pytest.raises(ValueError, match="vertex id 9 outside"):
        call(_C.warp, img, verts, verts, np.array([[0, 1, 9]], np.int32))
    with pytest.raises(ValueError, match=r"ref must be S x S x 3 = \(64, 64, 3\), got shape \(32, 32, 3\)"):
        call(_C.warp, img, verts, verts, tris, ref=np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r"lut must be \(S, 2\)"):
        call(_C.warp, img, verts, verts, tris, lut=np.zeros((S, 3), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        call(_C.warp, np.zeros((S, S, 4), np.uint8)[..., :3], verts, verts, tris)
    with pytest.raises(ValueError, match="n_mouth"):
        call(_C.warp, img, verts, verts, tris, n_mouth=len(tris) + 1)


@pytest.mark.gpu
@pytest.mark.parametrize("case", ["procedural", "teeth bank", "own mouth"])
def test_cuda_launch_equals_cpu_path(case: str) -> None:
    cp = pytest.importorskip("cupy")
    if not hasattr(_C, "cuda_warp"):
        pytest.skip("dhsdk._C was built without the CUDA launchers")
    args = renderer_args(case=case)
    crop, ref = args[0], args[1]
    size = crop.shape[0]
    d_src, d_ref = cp.asarray(crop), cp.asarray(ref)
    d_out = cp.empty_like(d_src)
    scratch = cp.empty(1 << 22, cp.uint8)
    stream = cp.cuda.Stream()
    _C.cuda_warp(d_src.data.ptr, d_ref.data.ptr, d_out.data.ptr, size, *args[2:], scratch.data.ptr,
                 scratch.nbytes, stream.ptr)
    stream.synchronize()
    # Same body and float32 arithmetic; FMA contraction on the GPU may move a value across a
    # rounding boundary: +-1 level.
    assert np.abs(cp.asnumpy(d_out).astype(int) - _C.warp(*args)).max() <= 1


def test_cuda_binding_without_a_driver_raises_runtime_error() -> None:
    from dhsdk.device import cuda_problem

    if not hasattr(_C, "cuda_warp"):
        pytest.skip("dhsdk._C was built without the CUDA launchers")
    if cuda_problem() is None:
        pytest.skip("a CUDA device is present: covered by test_cuda_launch_equals_cpu_path")
    args = renderer_args()
    fake = 1 << 20  # never dereferenced on the host: the first CUDA call fails without a driver
    with pytest.raises(RuntimeError, match="CUDA"):
        _C.cuda_warp(fake, fake, fake, args[0].shape[0], *args[2:], fake, 1 << 22, 0)
    with pytest.raises(ValueError, match="scratch must hold at least"):
        _C.cuda_warp(fake, fake, fake, args[0].shape[0], *args[2:], fake, 16, 0)
