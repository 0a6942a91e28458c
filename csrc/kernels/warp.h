// warp: the weights-free mouth renderer's fused pixel pass (dhsdk/render/warp.py).
//
// For every destination pixel of the mesh's bounding box: find the destination triangle that
// holds it (a per-tile triangle list, tiles of 2^tile_shift pixels), take its barycentric
// coordinates, map them to the source triangle and sample the source crop bilinearly
// (piecewise-affine inverse warp). Pixels of the mouth triangles (inside the target inner-lip
// contour) get the synthesised inner mouth instead: a sample of the source crop's own open
// mouth where it has one, else of the reference crop (colour-matched teeth bank), else a
// shaded cavity with a soft teeth band. Both mouth samples are anchored to a lip: a row d
// pixels below the target's upper inner lip reads d pixels below the source's (or the
// reference's) upper inner lip, rows above the lower lip likewise (the gap is split 62/38). At
// d = 0 the anchored sample is the source's lip edge, so the inner-lip boundary is continuous
// and the hand-over to cavity/teeth is a ramp `soft` pixels wide (the anti-aliased edge); a
// mouth closed in the target has no mouth pixels, so nothing is pasted over closed lips.
// Pixels covered by no triangle are copied. One thread per pixel of the box.
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
  const float* ref_lut;    // S x kWarpLutFloats, per reference column
  float dx_src, dx_ref;    // source / reference column = destination column + dx
  float cx, half_w;        // destination mouth centre column and half width, px
  float gain[3], offset[3];  // reference colour -> crop colour (per channel, 0..255)
  float cavity[3];         // cavity colour at the lips (crop colour, 0..255)
  float teeth[3];          // synthetic teeth colour (crop colour, 0..255)
  float teeth_h;           // synthetic upper-teeth band height, px
  float soft;              // width of the soft transitions, px (> 0)
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

// Share of a mouth's inner-lip gap read from its upper lip (the rest from its lower lip): the
// upper teeth show more of themselves than the lower ones in speech and smiles.
constexpr float kWarpUpperShare = 0.62f;

// Sample of a mouth (src or ref) anchored d pixels from its upper (or lower) inner lip at
// column col, into rgb. Returns its validity in [0, 1]: 1 while d is within that mouth's
// extent (its gap times the lip's share), falling to 0 over 1-3 `soft` widths beyond; `extent`
// receives the extent (0 outside the crop).
DH_HD float warp_mouth_sample(const uint8_t* img, const float* lut, int size, float col, bool upper, float d,
                              float soft, float* rgb, float& extent) {
  float up, lo;
  extent = 0.f;
  if (!warp_lut_at(lut, size, col, up, lo)) return 0.f;
  const float gap = fmaxf(lo - up, 0.f);
  extent = gap * (upper ? kWarpUpperShare : 1.f - kWarpUpperShare);
  // Fade-out width: up to 3 soft widths, but never reading past the mouth's far lip.
  const float fade = clampf(gap - extent, soft, 3.f * soft);
  const float valid = clampf(1.f + (extent - d) / fade, 0.f, 1.f);
  if (valid <= 0.f) return 0.f;
  const Taps t = bilinear_taps(col, upper ? up + d : lo - d, size, size);
  for (int c = 0; c < 3; ++c) rgb[c] = bilinear(img, size, 3, t, c);
  return valid;
}

// Synthetic tooth at horizontal offset dx (px) from the mouth centre: visible length below
// (above) the lip and brightness, from a row of teeth whose sizes follow the usual incisor,
// lateral, canine, premolar proportions (upper central incisor = 1.1 band heights wide), with
// scalloped edges and darker gaps between neighbours.
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
  len = band * (upper ? 1.f : 0.55f) * lengths[k] * (0.82f + 0.18f * sqrtf(fmaxf(sinf(3.14159265f * f), 0.f)));
  shade = (0.8f + 0.2f * clampf(gap_px / 1.5f, 0.f, 1.f)) * (0.95f + 0.05f * sinf(3.14159265f * f)) *
          (upper ? 1.f : 0.85f);
}

// Colour of the synthesised inner mouth at (x, y), given the destination lip rows up <= lo.
// Layers, back to front: shaded cavity with a tongue hint; a soft synthetic teeth band where
// neither the source nor the reference shows an open mouth at this column; the reference's
// sample (colour-matched); the source's own sample.
DH_HD void warp_mouth_colour(const WarpParams& p, float x, float y, float up, float lo, float* rgb) {
  const float gap = fmaxf(lo - up, 0.f);
  const float d_up = y - up, d_lo = lo - y;
  const bool upper = d_up <= kWarpUpperShare * gap;
  const float d = fmaxf(upper ? d_up : d_lo, 0.f);
  float ref[3], src[3], ext_r, ext_s;
  const float vr = warp_mouth_sample(p.ref, p.ref_lut, p.size, x + p.dx_ref, upper, d, p.soft, ref, ext_r);
  const float vs = warp_mouth_sample(p.src, p.src_lut, p.size, x + p.dx_src, upper, d, p.soft, src, ext_s);
  // Cavity: darkest behind the upper teeth and toward the corners, the tongue lit below.
  const float u = clampf(fabsf(x - p.cx) / p.half_w, 0.f, 1.f);
  const float t = clampf(d_up / fmaxf(gap, 1.f), 0.f, 1.f);
  const float corner = 1.f - 0.65f * u * u;
  const float back = 1.f - 0.45f * clampf(1.f - fabsf(t - 0.4f) / 0.4f, 0.f, 1.f);
  const float tongue = 0.55f * clampf((t - 0.55f) / 0.35f, 0.f, 1.f) * (1.f - u * u) * clampf(gap / (2.f * p.teeth_h), 0.f, 1.f);
  // Synthetic teeth band, only where no real open mouth is at hand.
  const float real = clampf(1.f - fmaxf(ext_r, ext_s) / (0.35f * p.teeth_h), 0.f, 1.f);
  float len = 0.f, tshade = 0.f;
  warp_tooth(x - p.cx, p.teeth_h, upper, len, tshade);
  const float side = clampf((0.95f - u) / 0.35f, 0.f, 1.f);
  const float a = clampf((len - d) / p.soft + 0.5f, 0.f, 1.f) * side * real;
  tshade *= (1.f - 0.3f * u * u) * (0.85f + 0.15f * clampf(d / (2.f * p.soft), 0.f, 1.f));
  for (int c = 0; c < 3; ++c) {
    float v = p.cavity[c] * corner * back;
    v += tongue * (p.cavity[c] * (c == 0 ? 2.4f : 1.9f) * corner - v);
    v += a * (p.teeth[c] * tshade - v);
    v += vr * (p.gain[c] * ref[c] + p.offset[c] - v);
    rgb[c] = v + vs * (src[c] - v);
  }
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
