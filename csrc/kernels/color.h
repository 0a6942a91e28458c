// color: RGB/BGR(A) uint8 -> planar I420 or semi-planar NV12, limited range, BT.601 or BT.709.
// One thread per 2 x 2 block: four luma samples and one chroma pair from the block's mean RGB.
//   Y = 16 + 219/255 * (Kr R + (1 - Kr - Kb) G + Kb B)
//   U = 128 + 224/255 * (B - Y') / (2 (1 - Kb)),  V = 128 + 224/255 * (R - Y') / (2 (1 - Kr))
#pragma once

#include "kernels/common.h"

namespace dh {

struct ColorParams {
  const uint8_t* frame;  // H x W x channels, H and W even
  int height, width, channels;
  int r_index, b_index;  // 0/2 for RGB, 2/0 for BGR(A)
  float kr, kb;          // 0.299/0.114 (BT.601), 0.2126/0.0722 (BT.709)
  uint8_t* out;          // H*3/2 x W
  int nv12;              // 0: I420 (U plane then V plane), 1: NV12 (interleaved UV)
};

DH_HD void color_block(const ColorParams& p, int bx, int by) {
  const float kg = 1.f - p.kr - p.kb;
  float rs = 0.f, gs = 0.f, bs = 0.f;
  for (int dy = 0; dy < 2; ++dy)
    for (int dx = 0; dx < 2; ++dx) {
      const int x = 2 * bx + dx, y = 2 * by + dy;
      const uint8_t* px = p.frame + (static_cast<long long>(y) * p.width + x) * p.channels;
      const float r = px[p.r_index], g = px[1], b = px[p.b_index];
      p.out[static_cast<long long>(y) * p.width + x] =
          saturate_u8(16.f + (219.f / 255.f) * (p.kr * r + kg * g + p.kb * b));
      rs += r; gs += g; bs += b;
    }
  rs *= 0.25f; gs *= 0.25f; bs *= 0.25f;
  const float yl = p.kr * rs + kg * gs + p.kb * bs;
  const uint8_t u = saturate_u8(128.f + (224.f / 255.f) * (bs - yl) / (2.f * (1.f - p.kb)));
  const uint8_t v = saturate_u8(128.f + (224.f / 255.f) * (rs - yl) / (2.f * (1.f - p.kr)));
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
