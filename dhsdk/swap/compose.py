"""One frame of a head swap: the photo's face put onto a stock frame's face.

Per frame (:class:`FaceSwapper`):

1. the stock face's canonical shape drives the photo's own face (:class:`~dhsdk.swap.retarget.Retarget`:
   pose, brows, blinks and gaze from the stock frame; shape, closed mouth and texture from the
   photo), and the result goes back into the frame where the stock face is;
2. one raster of the target mesh (face + the band around it) over the face's region
   (:mod:`dhsdk.swap.raster`), read twice: the photo through its face triangles, and the stock
   frame through all of them, so the stock's hair, ears, jaw line and neck follow the new face's
   outline (no gap, no second chin) and the stock face under it lines up with the photo's;
3. the photo's colour and lighting matched to the stock face region by region
   (:mod:`dhsdk.swap.colour`), smoothed over time;
4. a multi-band blend (:mod:`dhsdk.swap.blend`) with a weight that is 1 inside the face, falls
   to 0 at the face outline and fades out over the upper forehead (the stock's hairline stays),
   times the stock face's visibility (:mod:`dhsdk.swap.occlusion`: a hand in front of the face
   stays in front of the new face).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dhsdk.geometry import apply_affine, image_to_canonical, invert_affine
from dhsdk.swap import topology as topo
from dhsdk.swap.blend import levels_for, multiband
from dhsdk.swap.colour import GainFilter, skin_triangles, vertex_gains
from dhsdk.swap.raster import bounding_box, rasterize, remap
from dhsdk.swap.retarget import Retarget, lid_sources

EDGE_FADE = 0.22          # blend weight rises from 0 at the face outline to 1 this far inside, eye distances
SMEAR_STRETCH = 2.0       # a stock triangle stretched more than this (area) to the new shape is smeared
FOREHEAD_FADE = (-0.75, -0.45)   # canonical y over which the weight rises from 0 (hairline) to 1 (above the brows)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _distance_to_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) distance of each point to the closed polyline ``polygon`` (M, 2)."""
    a = np.asarray(polygon, np.float64)
    b = np.roll(a, -1, 0)
    ab = b - a
    p = np.asarray(points, np.float64)[:, None]
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab ** 2).sum(-1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1).min(1)


def blend_weights(neutral: np.ndarray, edge: bool = True) -> np.ndarray:
    """(478,) float64 per-vertex blend weight of the pasted face (see module docstring, step 4).

    Args:
        neutral: (478, 2) the pasted face's shape in the canonical frame.
        edge: fade out towards the outline (:data:`EDGE_FADE`); False fades only over the
            forehead (the outline's own vertices are 0 either way).
    """
    s = np.asarray(neutral, np.float64)[:topo.N_MESH]
    lo, hi = FOREHEAD_FADE
    w = _smoothstep((s[:, 1] - lo) / (hi - lo))
    if edge:
        w = w * _smoothstep(_distance_to_polygon(s, s[list(topo.OVAL_IDS)]) / EDGE_FADE)
    w[list(topo.OVAL_IDS)] = 0.0
    return w


@dataclass
class SwapFace:
    """A face to paste (from :func:`dhsdk.swap.source.face_from_photo`).

    Attributes:
        image: (H, W, 3) uint8 RGB photo, mouth closed.
        points: (478, 2) float64 its face mesh, pixels.
        name: where it came from (for messages and the manifest).
        alpha: (H, W) float32 in [0, 1], how much of each photo pixel may be pasted (0 on hair
            over the forehead, :func:`dhsdk.swap.source.hair_alpha`); None: all of it.
    """

    image: np.ndarray
    points: np.ndarray
    name: str = "photo"
    alpha: np.ndarray | None = None

    def rgba(self) -> np.ndarray:
        """(H, W, 4) uint8 the photo with ``alpha`` as its fourth channel."""
        a = np.ones(self.image.shape[:2], np.float32) if self.alpha is None else self.alpha
        return np.ascontiguousarray(np.dstack([self.image, np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)]))

    @property
    def neutral(self) -> np.ndarray:
        """(478, 2) float64 the face's shape in the canonical frame."""
        return apply_affine(image_to_canonical(self.points), self.points)


@dataclass
class SwapFrame:
    """One swapped frame and what the measurements need.

    Attributes:
        image: (H, W, 3) uint8 the frame with the new face.
        box: (x0, y0, x1, y1) the region that changed.
        weight: (h, w) float32 the blend weight over ``box`` (1 = the photo's face).
        points: (478, 2) float64 where the new face's mesh is, frame pixels.
        visible: share of the stock face's vertices in view (1 without an occlusion model).
    """

    image: np.ndarray
    box: tuple[int, int, int, int]
    weight: np.ndarray
    points: np.ndarray
    visible: float = 1.0


class FaceSwapper:
    """Pastes one face onto the frames of a stock clip, frame by frame.

    Args:
        face: the :class:`SwapFace` to paste.
        driver_neutral: (478, 2) the stock face's neutral shape in the canonical frame (the
            median over the clip: :func:`dhsdk.swap.video.neutral_shape`).
        gain_smoothing: weight of the newest frame in the colour gains' smoothing (1 = none).
        occlusion: an optional callable ``(frame, landmarks) -> (478,) visibility in [0, 1]``
            of the stock face's vertices (:class:`dhsdk.swap.occlusion.OcclusionModel`).
        step: evaluate the warp every ``step`` pixels and interpolate (:mod:`dhsdk.swap.raster`);
            2 is faster on large faces but a blink, which folds the map, can show a sliver of
            the eye through the lids.
    """

    def __init__(self, face: SwapFace, driver_neutral: np.ndarray, gain_smoothing: float = 0.25,
                 occlusion=None, step: int = 1):
        self.face = face
        self.step = int(step)
        self.driver_neutral = np.asarray(driver_neutral, np.float64)[:topo.N_MESH]
        self.retarget = Retarget(face.neutral, self.driver_neutral)
        self.gains = GainFilter(gain_smoothing)
        self.occlusion = occlusion
        self._face_tris = topo.face_triangles()
        self._tris = np.concatenate([self._face_tris, topo.band_triangles()])
        self._n_face = len(self._face_tris)
        n_rings = len(topo.RING_SCALES) * len(topo.OVAL_IDS)
        self._weights = np.concatenate([blend_weights(face.neutral), np.zeros(n_rings)])
        self._cover_weights = np.concatenate([blend_weights(face.neutral, edge=False), np.zeros(n_rings)])
        self._skin = np.concatenate([skin_triangles(), np.zeros(len(self._tris) - self._n_face, bool)])
        self._face_rgba = face.rgba()

    def reset(self) -> None:
        """Forget the temporal state (a cut in the stock clip)."""
        self.gains.reset()
        self.retarget.reset()

    def target(self, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the new face goes in a frame.

        Args:
            landmarks: (478, 2) the stock face's mesh in the frame, pixels.

        Returns:
            ((478, 2) the new face's mesh, (R * 36, 2) the ring points), frame pixels.
        """
        lm = np.asarray(landmarks, np.float64)
        to_canonical = image_to_canonical(lm)
        back = invert_affine(to_canonical)
        shape = apply_affine(to_canonical, lm)
        target = apply_affine(back, self.retarget(shape))
        pose = self.retarget.pose(shape)
        rings = topo.ring_points(apply_affine(back, apply_affine(pose, self.driver_neutral)))
        return target, rings

    def __call__(self, frame: np.ndarray, landmarks: np.ndarray) -> SwapFrame:
        """Swap the face in one RGB frame.

        Args:
            frame: (H, W, 3) uint8 RGB stock frame (not modified).
            landmarks: (478, 2) the stock face's mesh in ``frame``, pixels.
        """
        lm = np.asarray(landmarks, np.float64)[:topo.N_MESH]
        target, rings = self.target(lm)
        dst = np.concatenate([target, rings])
        src_frame = np.concatenate([lm, rings])
        src_face = np.concatenate([lid_sources(self.face.points[:topo.N_MESH], target), rings])
        n_face = self._n_face
        band = self._tris[n_face:]
        order = np.concatenate([topo.draw_order(src_frame, dst, band) + n_face,
                                topo.draw_order(self.face.points, target, self._face_tris)])
        eye_px = float(np.linalg.norm(target[topo.IRIS_CENTRES[0]] - target[topo.IRIS_CENTRES[1]]))
        box = bounding_box(dst, frame.shape)
        raster = rasterize(dst, self._tris, order, box, step=self.step)
        # Both sources through one raster: the stock frame everywhere, the photo on the face.
        ident = raster.identity()
        bg = remap(frame, raster.upsample(raster.field(src_frame, fill=ident)))
        face_cells = raster.tri < n_face
        on_face = (raster.ids >= 0) & (raster.ids < n_face)
        fbox = _face_box(on_face, raster, pad=2 ** levels_for(_width(target)))
        fx0, fy0 = fbox[0] - box[0], fbox[1] - box[1]
        fw, fh = fbox[2] - fbox[0], fbox[3] - fbox[1]
        bg_face = bg[fy0:fy0 + fh, fx0:fx0 + fw]
        fg4 = remap(self._face_rgba, raster.upsample(raster.field(src_face, fill=ident, cells=face_cells), fbox))
        fg = np.ascontiguousarray(fg4[..., :3])
        # Where the stock face folds over itself on the way to the new shape (its temples wider
        # than the photo's, say), the stock has nothing to show: the surrounding stock colour fills in.
        folded = np.concatenate([~topo.visible(lm, target, self._face_tris), np.zeros(len(band), bool)])
        undefined = (raster.ids >= 0) & folded[np.maximum(raster.ids, 0)]
        bgf = bg_face.astype(np.float32)
        if undefined.any():
            soft = raster.upsample(undefined.astype(np.float32)[..., None], fbox)
            bgf = bgf + soft * (_fill_from_around(bgf, soft[..., 0] < 0.01, eye_px) - bgf)
        skin = raster.cells((raster.ids >= 0) & self._skin[np.maximum(raster.ids, 0)], fbox)
        local = dst - [fbox[0], fbox[1]]
        gains = self.gains(vertex_gains(fg, bgf, skin, local[:topo.N_MESH], eye_px))
        weights = self._weights.copy()
        # Where the stock face had to stretch a lot (or fold) to take the new shape (a face
        # turned away, a narrower jaw), its skin is smeared: the photo covers it up to the outline.
        smeared = folded[:n_face] | (np.abs(topo.signed_area(target, self._face_tris))
                                     > SMEAR_STRETCH * np.abs(topo.signed_area(lm, self._face_tris)))
        cover = np.zeros(len(weights), bool)
        cover[np.unique(self._face_tris[smeared])] = True
        cover[list(topo.OVAL_IDS)] = False
        weights[cover] = np.maximum(weights[cover], self._cover_weights[cover])
        visible = np.ones(topo.N_MESH)
        if self.occlusion is not None:
            visible = self.occlusion(frame, lm)
            weights[:topo.N_MESH] *= visible
        values = np.concatenate([np.concatenate([gains, np.ones((len(rings), 3), np.float32)]), weights[:, None]], 1)
        field = raster.upsample(raster.field(values, fill=np.array([1.0, 1.0, 1.0, 0.0], np.float32), cells=face_cells),
                                fbox)
        alpha = fg4[..., 3].astype(np.float32) * np.float32(1.0 / 255.0)
        weight = np.clip(field[..., 3], 0.0, 1.0) * alpha
        # The photo counts only on its face triangles and not on its hair: elsewhere it equals the stock.
        keep = raster.cells(on_face, fbox) * alpha
        face = bgf + keep[..., None] * (fg.astype(np.float32) * field[..., :3] - bgf)
        out_face = multiband(face, bgf, np.clip(field[..., 3], 0.0, 1.0), levels_for(_width(target)))
        image = np.array(frame, copy=True)
        x0, y0, x1, y1 = box
        image[y0:y1, x0:x1] = bg
        image[fbox[1]:fbox[3], fbox[0]:fbox[2]] = np.clip(out_face + 0.5, 0, 255).astype(np.uint8)
        return SwapFrame(image, fbox, weight, target, float(np.mean(visible > 0.5)))


def _fill_from_around(image: np.ndarray, valid: np.ndarray, eye_px: float) -> np.ndarray:
    """(h, w, 3) float32 the mean of the ``valid`` pixels nearby (Gaussian, a tenth of an eye
    distance), everywhere: a fill for the few pixels that have no value of their own. Smooth by
    construction, so it is computed on a copy with the eyes ~20 px apart and scaled back."""
    import cv2

    h, w = valid.shape
    k = max(1.0, eye_px / 20.0)
    size = (max(1, int(round(w / k))), max(1, int(round(h / k))))
    sigma = max(0.1 * eye_px / k, 1.0)
    weight = cv2.GaussianBlur(cv2.resize(valid.astype(np.float32), size, interpolation=cv2.INTER_AREA), (0, 0), sigma)
    total = cv2.GaussianBlur(cv2.resize(image * valid[..., None], size, interpolation=cv2.INTER_AREA), (0, 0), sigma)
    return cv2.resize(total / np.maximum(weight, 1e-3)[..., None], (w, h), interpolation=cv2.INTER_LINEAR)


def _width(points: np.ndarray) -> float:
    return float(np.ptp(np.asarray(points)[list(topo.OVAL_IDS), 0]))


def _face_box(on_face: np.ndarray, raster, pad: int) -> tuple[int, int, int, int]:
    """Output-pixel box of the face cells of a raster, padded by ``pad`` pixels, inside the raster's region."""
    ys, xs = np.nonzero(on_face)
    x0, y0, x1, y1 = raster.box
    if len(xs) == 0:
        return raster.box
    s = raster.step
    return (max(x0, x0 + int(xs.min()) * s - pad), max(y0, y0 + int(ys.min()) * s - pad),
            min(x1, x0 + (int(xs.max()) + 1) * s + pad), min(y1, y0 + (int(ys.max()) + 1) * s + pad))


__all__ = ["FaceSwapper", "SwapFace", "SwapFrame", "blend_weights"]
