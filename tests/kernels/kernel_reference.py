"""float64 numpy references for the image kernels, written from the formulas in the kernel
headers' docstrings (bilinear with pixel centres at integers, clamp-to-edge taps, a sample is
inside when it lies in [-0.5, n-0.5])."""
from __future__ import annotations

import numpy as np


def bilinear(img: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample (h, w, c) float64 ``img`` at coords -> ((..., c) values, (...) inside mask)."""
    h, w = img.shape[:2]
    inside = (sx >= -0.5) & (sy >= -0.5) & (sx <= w - 0.5) & (sy <= h - 0.5)
    cx, cy = np.clip(sx, 0, w - 1), np.clip(sy, 0, h - 1)
    x0, y0 = np.floor(cx).astype(int), np.floor(cy).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (cx - x0)[..., None], (cy - y0)[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bot * fy, inside


def shape_alpha(xs: np.ndarray, ys: np.ndarray, ellipse=None, polygon=None, feather=0.0) -> np.ndarray:
    """alpha = clip(0.5 - d/feather, 0, 1), d the signed boundary distance (negative inside)."""
    if ellipse is not None:
        cx, cy, rx, ry, ang = ellipse
        dx, dy = xs - cx, ys - cy
        u = np.cos(ang) * dx + np.sin(ang) * dy
        v = -np.sin(ang) * dx + np.cos(ang) * dy
        r = np.hypot(u / rx, v / ry)
        rs = np.maximum(r, 1e-12)
        g = np.hypot(u / (rx * rx * rs), v / (ry * ry * rs))
        d = np.where(r < 1e-12, -min(rx, ry), (r - 1) / np.maximum(g, 1e-300))
    else:
        poly = np.asarray(polygon, np.float64)
        best = np.full(xs.shape, np.inf)
        inside = np.zeros(xs.shape, bool)
        for i in range(len(poly)):
            a, b = poly[i - 1], poly[i]
            e = b - a
            l2 = e @ e
            t = np.clip(((xs - a[0]) * e[0] + (ys - a[1]) * e[1]) / l2, 0, 1) if l2 > 0 else 0 * xs
            best = np.minimum(best, (a[0] + t * e[0] - xs) ** 2 + (a[1] + t * e[1] - ys) ** 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                cross = ((a[1] > ys) != (b[1] > ys)) & (xs < a[0] + (ys - a[1]) * e[0] / e[1])
            inside ^= cross
        d = np.where(inside, -np.sqrt(best), np.sqrt(best))
    if feather <= 0:
        return (d <= 0).astype(np.float64)
    return np.clip(0.5 - d / feather, 0, 1)


def composite(frame, crop, affine, mask=None, ellipse=None, polygon=None, feather=0.0) -> np.ndarray:
    """Return the composited copy of ``frame`` (uint8)."""
    h, w = frame.shape[:2]
    a = np.vstack([np.asarray(affine, np.float64), [0, 0, 1]])
    inv = np.linalg.inv(a)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    scale = 1.0 if crop.dtype == np.uint8 else 255.0
    col, inside = bilinear(crop.astype(np.float64) * scale, sx, sy)
    if mask is not None:
        alpha = np.clip(bilinear(mask.astype(np.float64)[..., None], sx, sy)[0][..., 0], 0, 1)
    elif ellipse is not None or polygon is not None:
        alpha = shape_alpha(sx, sy, ellipse, polygon, feather)
    else:
        alpha = np.ones_like(sx)
    alpha = np.where(inside, alpha, 0.0)[..., None]
    out = frame.copy()
    dst = frame[..., :3].astype(np.float64)
    out[..., :3] = np.clip(np.floor(dst + (col - dst) * alpha + 0.5), 0, 255).astype(np.uint8)
    return out


def crop(frame, affines, size, mean=(0, 0, 0), std=(1, 1, 1), border="constant", border_value=0.0,
         mask=None) -> np.ndarray:
    """(B, S, S, 3) float64 normalised crops ((x/255 - mean)/std), mask > 0.5 zeroed."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    img = frame[..., :3].astype(np.float64)
    outs = []
    for a in np.asarray(affines, np.float64):
        sx = a[0, 0] * xs + a[0, 1] * ys + a[0, 2]
        sy = a[1, 0] * xs + a[1, 1] * ys + a[1, 2]
        v, inside = bilinear(img, sx, sy)
        if border == "constant":
            v = np.where(inside[..., None], v, border_value)
        outs.append(v)
    raw = np.stack(outs)
    norm = (raw / 255.0 - np.asarray(mean)) / np.asarray(std)
    if mask is not None:
        norm[:, mask > 0.5] = 0
        raw[:, mask > 0.5] = 0
    return raw, norm


def yuv420(frame, bgr=False, standard=601, nv12=False) -> np.ndarray:
    """(H*3/2, W) uint8 limited-range 4:2:0 from the formulas in csrc/kernels/color.h."""
    kr, kb = (0.299, 0.114) if standard == 601 else (0.2126, 0.0722)
    rgb = frame[..., :3].astype(np.float64)
    if bgr:
        rgb = rgb[..., ::-1]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    kg = 1 - kr - kb
    q = lambda v: np.clip(np.floor(v + 0.5), 0, 255).astype(np.uint8)  # noqa: E731
    y = q(16 + 219 / 255 * (kr * r + kg * g + kb * b))
    h, w = r.shape
    m = rgb.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    yl = kr * m[..., 0] + kg * m[..., 1] + kb * m[..., 2]
    u = q(128 + 224 / 255 * (m[..., 2] - yl) / (2 * (1 - kb)))
    v = q(128 + 224 / 255 * (m[..., 0] - yl) / (2 * (1 - kr)))
    if nv12:
        chroma = np.stack([u, v], axis=-1).reshape(h // 2, w)
    else:
        chroma = np.concatenate([u.ravel(), v.ravel()]).reshape(h // 2, w)
    return np.vstack([y, chroma])
