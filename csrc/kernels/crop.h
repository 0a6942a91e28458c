// crop: fused pre-processor. Through a crop -> frame affine, sample an S x S crop of a uint8
// frame bilinearly (border: constant value or replicate), then write uint8 HWC or
// float32/float16 normalised (x/255 - mean) / std in CHW or HWC, optionally zeroing the pixels
// where an S x S mask is > 0.5 (inpainting input). One CropParams is one crop, its affine held by
// value: B crops (of one frame or of B frames) are B items, launched as parameter tables
// (kernels/common.h), so nothing is uploaded per call. One thread per output pixel.
#pragma once

#include "kernels/pixel.h"

namespace dh {

enum Border : int { kBorderConstant = 0, kBorderReplicate = 1 };

struct CropParams {
  const uint8_t* frame;  // H x W x channels (3 or 4); the first 3 channels are sampled
  int height, width, channels;
  Affine affine;         // crop pixel -> frame pixel
  int size;
  void* out;             // u8: S x S x 3; float: 3 x S x S (nchw) or S x S x 3
  int out_type, nchw;
  float mean[3], inv_std[3];
  int border;
  float border_value;    // 0..255, constant border
  const float* mask;     // S x S or null
};

// Output pixel (x, y). OutType (ElemType), Nchw and Channels (0: read p.channels) fixed at
// compile time; crop_pixel dispatches at run time.
template <int OutType, int Nchw, int Channels>
DH_HD void crop_pixel_t(const CropParams& p, int x, int y) {
  const int channels = Channels ? Channels : p.channels;
  const Point s = apply(p.affine, static_cast<float>(x), static_cast<float>(y));
  const Taps t = bilinear_taps(s.x, s.y, p.width, p.height);
  const bool zero = p.mask != nullptr && p.mask[y * p.size + x] > 0.5f;
  const bool sample = t.inside || p.border == kBorderReplicate;
  const long long plane = static_cast<long long>(p.size) * p.size;
  const long long pix = static_cast<long long>(y) * p.size + x;
  for (int c = 0; c < 3; ++c) {
    const float v = sample ? bilinear(p.frame, p.width, channels, t, c) : p.border_value;
    const long long idx = Nchw ? c * plane + pix : pix * 3 + c;
    if (OutType == kU8) {
      static_cast<uint8_t*>(p.out)[idx] = zero ? 0 : saturate_u8(v);
      continue;
    }
    const float n = zero ? 0.f : (v * (1.f / 255.f) - p.mean[c]) * p.inv_std[c];
    if (OutType == kF32) static_cast<float*>(p.out)[idx] = n;
    else static_cast<uint16_t*>(p.out)[idx] = float_to_half(n);
  }
}

DH_HD void crop_pixel(const CropParams& p, int x, int y) {
  if (p.out_type == kU8) crop_pixel_t<kU8, 0, 0>(p, x, y);
  else if (p.out_type == kF32) p.nchw ? crop_pixel_t<kF32, 1, 0>(p, x, y) : crop_pixel_t<kF32, 0, 0>(p, x, y);
  else p.nchw ? crop_pixel_t<kF16, 1, 0>(p, x, y) : crop_pixel_t<kF16, 0, 0>(p, x, y);
}

DH_HD void crop_body(const Thread& th, const CropParams& p) {
  const int x = th.gx(), y = th.gy();
  if (x >= p.size || y >= p.size) return;
  crop_pixel(p, x, y);
}

// One thread per crop pixel.
inline Dim crop_grid(const CropParams& p) { return grid_for(p.size, p.size, 1, kBlock2d); }

}  // namespace dh
