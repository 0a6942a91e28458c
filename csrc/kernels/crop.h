// crop: fused pre-processor. For each of B crop -> frame affines, sample an S x S crop of one
// uint8 frame bilinearly (border: constant value or replicate), then write uint8 HWC or
// float32/float16 normalised (x/255 - mean) / std in NCHW or NHWC, optionally zeroing the
// pixels where an S x S mask is > 0.5 (inpainting input). One thread per (x, y, batch).
#pragma once

#include "kernels/pixel.h"

namespace dh {

enum Border : int { kBorderConstant = 0, kBorderReplicate = 1 };

struct CropParams {
  const uint8_t* frame;  // H x W x channels (3 or 4); the first 3 channels are sampled
  int height, width, channels;
  const float* affines;  // B x 2 x 3 crop pixel -> frame pixel
  int batch, size;
  void* out;             // u8: B x S x S x 3; float: B x 3 x S x S (nchw) or B x S x S x 3
  int out_type, nchw;
  float mean[3], inv_std[3];
  int border;
  float border_value;    // 0..255, constant border
  const float* mask;     // S x S or null
};

// Output pixel (x, y) of crop b. OutType (ElemType), Nchw and Channels (0: read p.channels)
// fixed at compile time in the CPU row loops; crop_pixel dispatches at run time.
template <int OutType, int Nchw, int Channels>
DH_HD void crop_pixel_t(const CropParams& p, int x, int y, int b) {
  const int channels = Channels ? Channels : p.channels;
  const float* m = p.affines + 6 * b;
  const Affine a{m[0], m[1], m[2], m[3], m[4], m[5]};
  const Point s = apply(a, static_cast<float>(x), static_cast<float>(y));
  const Taps t = bilinear_taps(s.x, s.y, p.width, p.height);
  const bool zero = p.mask != nullptr && p.mask[y * p.size + x] > 0.5f;
  const bool sample = t.inside || p.border == kBorderReplicate;
  const long long plane = static_cast<long long>(p.size) * p.size;
  const long long pix = static_cast<long long>(y) * p.size + x;
  for (int c = 0; c < 3; ++c) {
    const float v = sample ? bilinear(p.frame, p.width, channels, t, c) : p.border_value;
    const long long idx = Nchw ? (b * 3 + c) * plane + pix : (b * plane + pix) * 3 + c;
    if (OutType == kU8) {
      static_cast<uint8_t*>(p.out)[idx] = zero ? 0 : saturate_u8(v);
      continue;
    }
    const float n = zero ? 0.f : (v * (1.f / 255.f) - p.mean[c]) * p.inv_std[c];
    if (OutType == kF32) static_cast<float*>(p.out)[idx] = n;
    else static_cast<uint16_t*>(p.out)[idx] = float_to_half(n);
  }
}

DH_HD void crop_pixel(const CropParams& p, int x, int y, int b) {
  if (p.out_type == kU8) crop_pixel_t<kU8, 0, 0>(p, x, y, b);
  else if (p.out_type == kF32) p.nchw ? crop_pixel_t<kF32, 1, 0>(p, x, y, b) : crop_pixel_t<kF32, 0, 0>(p, x, y, b);
  else p.nchw ? crop_pixel_t<kF16, 1, 0>(p, x, y, b) : crop_pixel_t<kF16, 0, 0>(p, x, y, b);
}

DH_HD void crop_body(const Thread& th, const CropParams& p) {
  const int x = th.gx(), y = th.gy(), b = th.gz();
  if (x >= p.size || y >= p.size || b >= p.batch) return;
  crop_pixel(p, x, y, b);
}

// One thread per crop pixel, grid z = batch item (at most 65535 on a GPU).
inline Dim crop_grid(const CropParams& p) { return grid_for(p.size, p.size, p.batch, kBlock2d); }

}  // namespace dh
