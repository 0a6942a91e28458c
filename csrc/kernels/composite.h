// composite: blend an S x S crop into a uint8 frame in place through the crop -> frame affine.
// One thread per frame pixel of the ROI bounding box: sample crop and alpha bilinearly at the
// inverse-mapped position, out = frame + (crop - frame) * alpha, rounded and saturated.
#pragma once

#include "kernels/pixel.h"

namespace dh {

struct CompositeParams {
  uint8_t* frame;      // H x W x channels (3 or 4), only the first 3 channels are blended
  int height, width, channels;
  const void* crop;    // S x S x 3 in the frame's channel order, ElemType crop_type
  int crop_type, size;
  const float* mask;   // S x S alpha in 0..1 when shape.shape == kMaskArray
  ShapeMask shape;     // kMaskNone: alpha 1 inside the crop
  Affine inv;          // frame pixel -> crop pixel
  int x0, y0, roi_w, roi_h;  // ROI bounding box in frame pixels
};

// CropType: the crop's ElemType, fixed at compile time; composite_pixel dispatches at run time.
template <int CropType>
DH_HD void composite_pixel_t(const CompositeParams& p, int x, int y) {
  const Point s = apply(p.inv, static_cast<float>(x), static_cast<float>(y));
  const Taps t = bilinear_taps(s.x, s.y, p.size, p.size);
  if (!t.inside) return;
  float alpha = 1.f;
  if (p.shape.shape == kMaskArray) alpha = clampf(bilinear(p.mask, p.size, 1, t, 0), 0.f, 1.f);
  else if (p.shape.shape != kMaskNone) alpha = shape_alpha(p.shape, s.x, s.y);
  if (alpha <= 0.f) return;
  uint8_t* px = p.frame + (static_cast<long long>(y) * p.width + x) * p.channels;
  for (int c = 0; c < 3; ++c) {
    const float src = bilinear_t<CropType>(p.crop, p.size, 3, t, c);
    const float dst = static_cast<float>(px[c]);
    px[c] = saturate_u8(dst + (src - dst) * alpha);
  }
}

DH_HD void composite_pixel(const CompositeParams& p, int x, int y) {
  if (p.crop_type == kU8) composite_pixel_t<kU8>(p, x, y);
  else if (p.crop_type == kF32) composite_pixel_t<kF32>(p, x, y);
  else composite_pixel_t<kF16>(p, x, y);
}

DH_HD void composite_body(const Thread& th, const CompositeParams& p) {
  const int x = th.gx(), y = th.gy();
  if (x >= p.roi_w || y >= p.roi_h) return;
  composite_pixel(p, p.x0 + x, p.y0 + y);
}

// One thread per pixel of the ROI box.
inline Dim composite_grid(const CompositeParams& p) { return grid_for(p.roi_w, p.roi_h, 1, kBlock2d); }

}  // namespace dh
