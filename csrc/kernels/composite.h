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

// How a pixel's alpha is made, fixed at compile time in the pixel loops.
enum AlphaKind : int { kAlphaOne = 0, kAlphaArray = 1, kAlphaShape = 2 };

DH_HD int alpha_kind(const CompositeParams& p) {
  return p.shape.shape == kMaskNone ? kAlphaOne : p.shape.shape == kMaskArray ? kAlphaArray : kAlphaShape;
}

// Alpha at crop position s (taps t), before the inside test.
template <int Alpha>
DH_HD float composite_alpha(const CompositeParams& p, const Point& s, const Taps& t) {
  if (Alpha == kAlphaOne) return 1.f;
  if (Alpha == kAlphaArray) return clampf(bilinear(p.mask, p.size, 1, t, 0), 0.f, 1.f);
  return shape_alpha(p.shape, s.x, s.y);
}

// Channel c of the blend: dst + (crop sample - dst) * alpha, rounded and saturated.
DH_HD uint8_t blend_u8(uint8_t dst, float src, float alpha) {
  const float d = static_cast<float>(dst);
  return saturate_u8(d + (src - d) * alpha);
}

template <int CropType>
DH_HD uint8_t composite_blend(const CompositeParams& p, const Taps& t, int c, uint8_t dst, float alpha) {
  return blend_u8(dst, bilinear_t<CropType>(p.crop, p.size, 3, t, c), alpha);
}

// One frame pixel (x, y): pixels whose sample lies outside the crop, or whose alpha is <= 0,
// are left as they are. CropType / Alpha / Channels (0: read p.channels) fixed at compile time.
template <int CropType, int Alpha, int Channels>
DH_HD void composite_pixel_t(const CompositeParams& p, int x, int y) {
  const Point s = apply(p.inv, static_cast<float>(x), static_cast<float>(y));
  const Taps t = bilinear_taps(s.x, s.y, p.size, p.size);
  if (!t.inside) return;
  const float alpha = composite_alpha<Alpha>(p, s, t);
  if (alpha <= 0.f) return;
  uint8_t* px = p.frame + (static_cast<long long>(y) * p.width + x) * (Channels ? Channels : p.channels);
  for (int c = 0; c < 3; ++c) px[c] = composite_blend<CropType>(p, t, c, px[c], alpha);
}

template <int CropType>
DH_HD void composite_pixel_c(const CompositeParams& p, int x, int y) {
  const int a = alpha_kind(p);
  if (a == kAlphaOne) composite_pixel_t<CropType, kAlphaOne, 0>(p, x, y);
  else if (a == kAlphaArray) composite_pixel_t<CropType, kAlphaArray, 0>(p, x, y);
  else composite_pixel_t<CropType, kAlphaShape, 0>(p, x, y);
}

DH_HD void composite_pixel(const CompositeParams& p, int x, int y) {
  if (p.crop_type == kU8) composite_pixel_c<kU8>(p, x, y);
  else if (p.crop_type == kF32) composite_pixel_c<kF32>(p, x, y);
  else composite_pixel_c<kF16>(p, x, y);
}

DH_HD void composite_body(const Thread& th, const CompositeParams& p) {
  const int x = th.gx(), y = th.gy();
  if (x >= p.roi_w || y >= p.roi_h) return;
  composite_pixel(p, p.x0 + x, p.y0 + y);
}

// One thread per pixel of the ROI box.
inline Dim composite_grid(const CompositeParams& p) { return grid_for(p.roi_w, p.roi_h, 1, kBlock2d); }

}  // namespace dh
