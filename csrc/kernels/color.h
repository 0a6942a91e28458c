// color: RGB/BGR(A) uint8 -> planar I420 or semi-planar NV12, limited range, BT.601 or BT.709.
//   Y = 16 + 219/255 * (Kr R + (1 - Kr - Kb) G + Kb B)
//   U = 128 + 224/255 * (B - Y') / (2 (1 - Kb)),  V = 128 + 224/255 * (R - Y') / (2 (1 - Kr))
// with Y' the luma of the mean RGB of each 2 x 2 block (chroma from the block mean).
//
// All three are linear in the (summed) channel values, so they are evaluated in 16.16 fixed
// point with the coefficients rounded once on the host (color_coeffs): integer arithmetic gives
// the same bits on every launcher and compiler (no FMA contraction to differ by), vectorises on
// the CPU, and stays within 0.03 of the float64 formula before the final rounding (3 terms x
// 1020 x 2^-17), so within 1 level of it after.
#pragma once

#include "kernels/common.h"

namespace dh {

constexpr int kColorShift = 16;

// Fixed-point coefficients (scaled by 2^kColorShift): luma per pixel value, chroma per
// 2 x 2 block *sum* (the 1/4 of the mean folded in); offsets include the rounding half.
struct ColorCoeffs {
  int yr, yg, yb, y_off;
  int ur, ug, ub, vr, vg, vb, c_off;
};

struct ColorParams {
  const uint8_t* frame;  // H x W x channels, H and W even
  int height, width, channels;
  int r_index, b_index;  // 0/2 for RGB, 2/0 for BGR(A)
  ColorCoeffs k;
  uint8_t* out;          // H*3/2 x W
  int nv12;              // 0: I420 (U plane then V plane), 1: NV12 (interleaved UV)
};

// kr, kb: 0.299/0.114 (BT.601) or 0.2126/0.0722 (BT.709).
inline ColorCoeffs color_coeffs(double kr, double kb) {
  const double one = double(1 << kColorShift), kg = 1.0 - kr - kb;
  const double ys = 219.0 / 255.0, cu = 224.0 / 255.0 / (2.0 * (1.0 - kb)), cv = 224.0 / 255.0 / (2.0 * (1.0 - kr));
  auto q = [one](double v) { return static_cast<int>(v * one + (v < 0 ? -0.5 : 0.5)); };
  ColorCoeffs k;
  k.yr = q(ys * kr);
  k.yg = q(ys * kg);
  k.yb = q(ys * kb);
  k.y_off = (16 << kColorShift) + (1 << (kColorShift - 1));
  // U = 128 + cu * (B - (kr R + kg G + kb B)) on the block mean = sum / 4.
  k.ur = q(-cu * kr / 4);
  k.ug = q(-cu * kg / 4);
  k.ub = q(cu * (1.0 - kb) / 4);
  k.vr = q(cv * (1.0 - kr) / 4);
  k.vg = q(-cv * kg / 4);
  k.vb = q(-cv * kb / 4);
  k.c_off = (128 << kColorShift) + (1 << (kColorShift - 1));
  return k;
}

DH_HD uint8_t fixed_to_u8(int v) { return static_cast<uint8_t>(clampi(v >> kColorShift, 0, 255)); }

// Luma of one pixel.
DH_HD uint8_t color_luma(const ColorCoeffs& k, int r, int g, int b) {
  return fixed_to_u8(k.yr * r + k.yg * g + k.yb * b + k.y_off);
}

// U and V of a 2 x 2 block from its channel sums (each 0..1020).
DH_HD uint8_t color_u(const ColorCoeffs& k, int rs, int gs, int bs) {
  return fixed_to_u8(k.ur * rs + k.ug * gs + k.ub * bs + k.c_off);
}

DH_HD uint8_t color_v(const ColorCoeffs& k, int rs, int gs, int bs) {
  return fixed_to_u8(k.vr * rs + k.vg * gs + k.vb * bs + k.c_off);
}

// One 2 x 2 block (bx, by): its four luma samples and its chroma pair.
DH_HD void color_block(const ColorParams& p, int bx, int by) {
  int rs = 0, gs = 0, bs = 0;
  for (int dy = 0; dy < 2; ++dy)
    for (int dx = 0; dx < 2; ++dx) {
      const int x = 2 * bx + dx, y = 2 * by + dy;
      const uint8_t* px = p.frame + (static_cast<long long>(y) * p.width + x) * p.channels;
      const int r = px[p.r_index], g = px[1], b = px[p.b_index];
      p.out[static_cast<long long>(y) * p.width + x] = color_luma(p.k, r, g, b);
      rs += r; gs += g; bs += b;
    }
  const uint8_t u = color_u(p.k, rs, gs, bs), v = color_v(p.k, rs, gs, bs);
  const long long luma = static_cast<long long>(p.height) * p.width;
  const int cw = p.width / 2, ch = p.height / 2;
  if (p.nv12) {
    uint8_t* uv = p.out + luma + static_cast<long long>(by) * p.width + 2 * bx;
    uv[0] = u;
    uv[1] = v;
  } else {
    const long long i = static_cast<long long>(by) * cw + bx;
    p.out[luma + i] = u;
    p.out[luma + static_cast<long long>(cw) * ch + i] = v;
  }
}

DH_HD void color_body(const Thread& th, const ColorParams& p) {
  const int bx = th.gx(), by = th.gy();
  if (bx >= p.width / 2 || by >= p.height / 2) return;
  color_block(p, bx, by);
}

// One thread per 2 x 2 block of the frame.
inline Dim color_grid(const ColorParams& p) { return grid_for(p.width / 2, p.height / 2, 1, kBlock2d); }

}  // namespace dh
