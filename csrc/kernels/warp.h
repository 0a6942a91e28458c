// warp: the weights-free mouth renderer's fused pixel pass (dhsdk/render/warp.py).
//
// For every destination pixel of the mesh's bounding box: find the destination triangle that
// holds it (a per-tile triangle list, tiles of 2^tile_shift pixels), take its barycentric
// coordinates, map them to the source triangle and sample the source crop bilinearly
// (piecewise-affine inverse warp). Pixels of the mouth triangles (inside the target's visible
// inner-lip contour) get the synthesised inner mouth instead, built back to front like a real
// mouth (warp_mouth_colour): a shaded cavity; the upper teeth hanging from the upper lip and,
// once the jaw drops below them, the lower teeth rising from the lower lip, both taken from the
// reference crop's teeth (keyed out of its lips and shadows by their redness, colour-matched
// to the frame; procedural teeth when the reference shows none); the lip edges blurred into
// the aperture at the footage's own blur; and, where the target is not more open than the
// source crop, the source's own open mouth (anchored to its lips), so an unchanged shape
// returns the crop. A mouth closed in the target has no mouth pixels, so nothing is pasted over
// closed lips. Pixels covered by no triangle are copied. One thread per pixel of the box.
#pragma once

#include <cstddef>
#include <vector>

#include "kernels/common.h"

namespace dh {

// Per triangle: barycentric gradients (l1 = a1*(x-px) + b1*(y-py), l2 likewise), the
// destination anchor (px, py), the source anchor s0, the source edges s1-s0, s2-s0, and 1 for
// a mouth (inner-lip) triangle, else 0.
constexpr int kWarpTriFloats = 13;
// Per crop column: the inner-lip contour's upper and lower y (equal where the mouth is closed).
constexpr int kWarpLutFloats = 2;
constexpr Dim kWarpBlock{32, 8, 1};

struct WarpParams {
  const uint8_t* src;  // S x S x 3 crop being warped
  const uint8_t* ref;  // S x S x 3 reference crop (teeth bank), may alias src
  uint8_t* out;        // S x S x 3; only the box [x0, x1] x [y0, y1] is written
  int size;
  const float* tris;       // T x kWarpTriFloats
  const int* tile_start;   // tiles_x * tiles_y + 1 offsets into tile_tris
  const int* tile_tris;    // triangle ids per tile
  int tile_shift, tiles_x;
  int x0, y0, x1, y1;      // box, inclusive
  const float* lut;        // S x kWarpLutFloats, target inner lips per destination column
  const float* src_lut;    // S x kWarpLutFloats, per source column
  const float* ref_lut;    // S x kWarpLutFloats, per reference column: top y of its teeth (or
                           // of its upper lip, where higher) and y of their last row (0, 0 where
                           // it shows no teeth)
  float dx_src, dx_ref;    // source / reference column = destination column + dx
  float cx, half_w;        // destination mouth centre column and half width, px
  float gain[3], offset[3];  // reference colour -> crop colour (per channel, 0..255)
  float cavity[3];         // cavity colour (crop colour, 0..255)
  float teeth[3];          // teeth colour (crop colour, 0..255) of the procedural teeth
  float key[2];            // redness of the reference's teeth and of its lips: a reference pixel
                           // is teeth (1) at key[0] or less, not (0) at key[1] or more;
                           // key[0] >= key[1]: the reference shows no teeth (procedural ones)
  float teeth_h;           // upper-teeth height at the mouth centre, px
  float soft;              // blur of the footage (and of the synthesised edges), px (> 0)
};

// Triangle holding (x, y) and its barycentric coordinates; -1 when none does.
DH_HD int warp_find(const WarpParams& p, float x, float y, float& l1, float& l2) {
  const int tile = (static_cast<int>(y) >> p.tile_shift) * p.tiles_x + (static_cast<int>(x) >> p.tile_shift);
  const float eps = -1e-5f;
  for (int k = p.tile_start[tile]; k < p.tile_start[tile + 1]; ++k) {
    const int t = p.tile_tris[k];
    const float* q = p.tris + kWarpTriFloats * t;
    const float dx = x - q[4], dy = y - q[5];
    const float a = q[0] * dx + q[1] * dy;
    const float b = q[2] * dx + q[3] * dy;
    if (a >= eps && b >= eps && 1.f - a - b >= eps) {
      l1 = a;
      l2 = b;
      return t;
    }
  }
  return -1;
}

// Upper and lower inner-lip y of a per-column LUT at a fractional column; false outside the crop.
DH_HD bool warp_lut_at(const float* lut, int size, float col, float& up, float& lo) {
  if (!(col >= 0.f && col <= static_cast<float>(size - 1))) return false;
  const int c0 = static_cast<int>(col);
  const int c1 = c0 + 1 < size ? c0 + 1 : c0;
  const float f = col - static_cast<float>(c0);
  const float* a = lut + kWarpLutFloats * c0;
  const float* b = lut + kWarpLutFloats * c1;
  up = a[0] + (b[0] - a[0]) * f;
  lo = a[1] + (b[1] - a[1]) * f;
  return true;
}

// Share of the source's inner-lip gap read from its upper lip (the rest from its lower lip).
constexpr float kWarpUpperShare = 0.62f;
// Cavity shading: darker toward the mouth corners and behind the teeth (a little above the
// middle of the gap); the tongue lightens the lower part of a wide-open mouth.
constexpr float kWarpCornerShade = 0.3f, kWarpBackShade = 0.2f, kWarpTongue = 0.2f;
// Lower teeth: at most this share of the upper teeth's height shows, at this brightness.
constexpr float kWarpLowerTeeth = 0.25f, kWarpLowerShade = 0.85f;

DH_HD float warp_smooth(float t) {
  t = clampf(t, 0.f, 1.f);
  return t * t * (3.f - 2.f * t);
}

// Bilinear sample of an S x S x 3 image at (x, y), into rgb.
DH_HD void warp_sample(const uint8_t* img, int size, float x, float y, float* rgb) {
  const Taps t = bilinear_taps(x, y, size, size);
  for (int c = 0; c < 3; ++c) rgb[c] = bilinear(img, size, 3, t, c);
}

// Procedural tooth at horizontal offset dx (px) from the mouth centre: visible length (a
// share of the teeth's height) and brightness, from a row of teeth whose sizes follow the usual
// incisor, lateral, canine, premolar proportions (upper central incisor = 1.1 band heights
// wide), with scalloped edges and darker gaps between neighbours.
DH_HD void warp_tooth(float dx, float band, bool upper, float& len, float& shade) {
  const float unit = (upper ? 1.1f : 0.7f) * band;  // central incisor width, px
  const float q = fabsf(dx) / fmaxf(unit, 1.f);
  // Tooth boundaries (in central-incisor widths) and relative lengths.
  const float edges[6] = {0.f, 1.f, 1.75f, 2.6f, 3.4f, 4.2f};
  const float lengths[5] = {1.f, 0.86f, 0.95f, 0.8f, 0.75f};
  int k = 0;
  while (k < 4 && q >= edges[k + 1]) ++k;
  const float w = edges[k + 1] - edges[k];
  const float f = clampf((q - edges[k]) / w, 0.f, 1.f);
  const float gap_px = fminf(f, 1.f - f) * w * unit;  // distance to the nearest neighbour, px
  len = lengths[k] * (0.82f + 0.18f * sqrtf(fmaxf(sinf(3.14159265f * f), 0.f)));
  shade = (0.8f + 0.2f * clampf(gap_px / 1.5f, 0.f, 1.f)) * (0.95f + 0.05f * sinf(3.14159265f * f));
}

// The reference's upper teeth at reference column xr: rows top..bottom (from its upper lip, or
// its teeth where they show above it, down to its last row of teeth); returns bottom - top, px
// (0 where it shows no teeth, or when the reference has none at all).
DH_HD float warp_ref_band(const WarpParams& p, float xr, float& top, float& bottom) {
  top = bottom = 0.f;
  if (!(p.key[0] < p.key[1]) || !warp_lut_at(p.ref_lut, p.size, xr, top, bottom)) return 0.f;
  return fmaxf(bottom - top, 0.f);
}

// One row of teeth over rgb: the upper teeth d pixels below the upper lip (upper = true), or
// the lower teeth d pixels above the lower lip, `height` px of them showing at this column.
// Procedural teeth (warp_tooth) in the teeth colour, except that the upper teeth, where the
// reference shows teeth at this column (`band` px of them from row `top`; none where band = 0,
// and then no teeth), are its own rows from `top` down, anchored at the upper lip, keyed out of
// lips and shadows by redness and colour-matched; where they are shorter than `height` (cut
// by a barely open reference's lower lip), they run on into procedural ones.
// u: |x - cx| / half_w.
DH_HD void warp_teeth(const WarpParams& p, float x, float d, float height, float band, float top, bool upper,
                      float u, float* rgb) {
  if (height <= 0.f || d >= height + p.soft) return;
  const bool bank = p.key[0] < p.key[1];
  if (bank && band <= 0.f) return;  // the reference shows no teeth at this column
  float len, shade;
  warp_tooth(x - p.cx, p.teeth_h, upper, len, shade);
  float col[3];
  for (int c = 0; c < 3; ++c) col[c] = p.teeth[c] * shade * (1.f - 0.3f * u * u);
  float alpha = clampf((len * height - d) / p.soft + 0.5f, 0.f, 1.f);
  if (bank && upper) {
    float ref[3];
    warp_sample(p.ref, p.size, x + p.dx_ref, top + fminf(d, band), ref);
    const float redness = (ref[0] - ref[1]) / fmaxf(ref[0] + ref[1] + ref[2], 1.f);
    // Keyed by redness; thin bands (the ends of the row) fade out; below its own teeth the
    // reference's last row fades into the procedural ones.
    const float own = 1.f - warp_smooth((d - band) / fmaxf(2.f * p.soft, 2.f));
    const float key = warp_smooth((p.key[1] - redness) / (p.key[1] - p.key[0]));
    alpha = (1.f - own * (1.f - key)) * warp_smooth(band / (2.f * p.soft)) *
            clampf((band + len * (height - band) - d) / p.soft + 0.5f, 0.f, 1.f);
    for (int c = 0; c < 3; ++c) col[c] += own * (p.gain[c] * ref[c] + p.offset[c] - col[c]);
  } else if (!bank) {
    alpha *= clampf((0.95f - u) / 0.35f, 0.f, 1.f);
  }
  const float s = upper ? 1.f : kWarpLowerShade;
  for (int c = 0; c < 3; ++c) rgb[c] += alpha * (s * col[c] - rgb[c]);
}

// Colour of the synthesised inner mouth at (x, y), given the destination lip rows up <= lo.
DH_HD void warp_mouth_colour(const WarpParams& p, float x, float y, float up, float lo, float* rgb) {
  const float gap = fmaxf(lo - up, 0.f);
  const float d_up = fmaxf(y - up, 0.f), d_lo = fmaxf(lo - y, 0.f);
  const float u = clampf(fabsf(x - p.cx) / p.half_w, 0.f, 1.f);
  // Cavity.
  const float t = clampf(d_up / fmaxf(gap, 1.f), 0.f, 1.f);
  const float shade = (1.f - kWarpCornerShade * u * u) *
                      (1.f - kWarpBackShade * clampf(1.f - fabsf(t - 0.4f) / 0.4f, 0.f, 1.f));
  float top, bottom;
  const float band = warp_ref_band(p, x + p.dx_ref, top, bottom);
  const float teeth_h = fmaxf(p.teeth_h * sqrtf(fmaxf(1.f - u * u, 0.f)), band);
  const float tongue = kWarpTongue * warp_smooth((t - 0.55f) / 0.35f) * (1.f - u * u) *
                       warp_smooth(gap / (2.f * fmaxf(p.teeth_h, 1.f)) - 0.5f);
  for (int c = 0; c < 3; ++c) rgb[c] = p.cavity[c] * shade * (1.f + tongue * (c == 0 ? 1.2f : 0.5f));
  // Teeth: the lower ones only once the jaw has dropped below the upper ones.
  warp_teeth(p, x, d_lo, fminf(kWarpLowerTeeth * teeth_h, gap - teeth_h), band, top, false, u, rgb);
  warp_teeth(p, x, d_up, teeth_h, band, top, true, u, rgb);
  // The lip edges, blurred into the aperture: the source's own inner-lip edge colour.
  const float xs = x + p.dx_src;
  float s_up, s_lo;
  if (!warp_lut_at(p.src_lut, p.size, xs, s_up, s_lo)) return;
  const bool upper = d_up <= kWarpUpperShare * gap;
  float edge[3];
  warp_sample(p.src, p.size, xs, upper ? s_up : s_lo, edge);
  const float a = warp_smooth(d_up / p.soft) * warp_smooth(d_lo / p.soft);
  for (int c = 0; c < 3; ++c) rgb[c] = edge[c] + a * (rgb[c] - edge[c]);
  // The source's own open mouth, anchored to its lips (the gap split like the target's), where
  // the target is not more open than the source (fading out over one blur width beyond).
  const float s_gap = fmaxf(s_lo - s_up, 0.f);
  const float d = upper ? d_up : d_lo;
  const float extent = s_gap * (upper ? kWarpUpperShare : 1.f - kWarpUpperShare);
  const float fade = clampf(s_gap - extent, p.soft, 3.f * p.soft);
  const float v = clampf(1.f + (extent - d) / fade, 0.f, 1.f) * clampf(1.f - (gap - s_gap) / p.soft, 0.f, 1.f);
  if (v <= 0.f) return;
  float own[3];
  warp_sample(p.src, p.size, xs, upper ? s_up + d : s_lo - d, own);
  for (int c = 0; c < 3; ++c) rgb[c] += v * (own[c] - rgb[c]);
}

DH_HD void warp_pixel(const WarpParams& p, int x, int y) {
  const float fx = static_cast<float>(x), fy = static_cast<float>(y);
  const int base = (y * p.size + x) * 3;
  float l1 = 0.f, l2 = 0.f;
  const int t = warp_find(p, fx, fy, l1, l2);
  if (t < 0) {
    for (int c = 0; c < 3; ++c) p.out[base + c] = p.src[base + c];
    return;
  }
  const float* q = p.tris + kWarpTriFloats * t;
  float rgb[3];
  if (q[12] != 0.f) {
    const float* m = p.lut + kWarpLutFloats * x;
    warp_mouth_colour(p, fx, fy, m[0], m[1], rgb);
  } else {
    const float sx = q[6] + l1 * q[8] + l2 * q[10];
    const float sy = q[7] + l1 * q[9] + l2 * q[11];
    const Taps tp = bilinear_taps(sx, sy, p.size, p.size);
    for (int c = 0; c < 3; ++c) rgb[c] = bilinear(p.src, p.size, 3, tp, c);
  }
  for (int c = 0; c < 3; ++c) p.out[base + c] = saturate_u8(rgb[c]);
}

DH_HD void warp_body(const Thread& th, const WarpParams& p) {
  const int x = p.x0 + th.gx(), y = p.y0 + th.gy();
  if (x > p.x1 || y > p.y1) return;
  warp_pixel(p, x, y);
}

// ---- host side -------------------------------------------------------------------------
// Triangle table and tile lists of one frame's mesh, built on the host (csrc/cpu/warp.cpp)
// for every launcher. Degenerate destination triangles (|area| < 1e-6 px^2) cover nothing
// and are left out; the box is the bounding box of the rest, clipped to the crop.
struct WarpMesh {
  std::vector<float> tris;
  std::vector<int> tile_start, tile_tris;
  int tile_shift = 4, tiles_x = 0;
  int x0 = 0, y0 = 0, x1 = -1, y1 = -1;
};

// src, dst: V x 2 vertex positions (crop pixels); tri: T x 3 vertex ids (checked by the
// caller), the first n_mouth of them the mouth triangles.
WarpMesh warp_mesh(const float* src, const float* dst, const int* tri, int n_tris, int n_mouth, int size);

// Fill the mesh fields of p (pointers into mesh, which must outlive the launch).
void warp_attach(WarpParams& p, const WarpMesh& mesh);

void warp_cpu(const WarpParams& p);
void warp_emulated(const WarpParams& p);

// Bytes of device scratch the CUDA launcher needs for this mesh (tables + three LUTs).
inline std::size_t warp_device_bytes(const WarpMesh& mesh, int size) {
  return sizeof(float) * (mesh.tris.size() + 3 * kWarpLutFloats * static_cast<std::size_t>(size)) +
         sizeof(int) * (mesh.tile_start.size() + mesh.tile_tris.size());
}

// CUDA launcher (csrc/cuda/warp.cu): p's image pointers are device pointers; the mesh tables
// and the LUTs (host, p.lut / p.src_lut / p.ref_lut) are copied into `scratch` (device, at
// least warp_device_bytes) on `stream`, the crop is copied to the output, then the box is
// warped. Throws std::runtime_error on CUDA errors.
void warp_cuda(WarpParams p, const WarpMesh& mesh, void* scratch, void* stream);

}  // namespace dh
