// Element conversions shared by the composite and crop kernels: IEEE half <-> float from
// raw bits (portable to host and device without cuda_fp16.h) and the analytic feathered
// mask (ellipse or polygon, signed distance in crop pixels).
#pragma once

#include <cstring>

#include "kernels/common.h"

namespace dh {

// IEEE 754 binary16 bits -> float.
DH_HD float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1u, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  float v;
  if (exp == 0) v = ldexpf(static_cast<float>(man), -24);
  else if (exp == 31) v = man ? NAN : INFINITY;
  else v = ldexpf(static_cast<float>(man | 0x400u), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

// float -> IEEE 754 binary16 bits, round to nearest even (values here are finite, |v| < 65504).
// The three cases (overflow, subnormal, normal) are computed alike and selected, without
// branches, so loops that convert vectorise.
DH_HD uint16_t float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  // subnormal half: scale into the integer mantissa and round to even
  const uint32_t sub = static_cast<uint32_t>(rintf(fabsf(f) * 16777216.f));  // 2^24
  const uint32_t rounded = ax + 0x0fffu + ((ax >> 13) & 1u);
  const uint32_t normal = (rounded - 0x38000000u) >> 13;
  const uint32_t bits = ax >= 0x477ff000u ? 0x7c00u : (ax < 0x38800000u ? sub : normal);
  return static_cast<uint16_t>(sign | bits);
}

// Element of a crop image as a 0..255 float: uint8 as is, float32/float16 in 0..1 scaled.
enum ElemType : int { kU8 = 0, kF32 = 1, kF16 = 2 };

DH_HD float load_255(const void* base, int type, int idx) {
  if (type == kU8) return static_cast<float>(static_cast<const uint8_t*>(base)[idx]);
  if (type == kF32) return static_cast<const float*>(base)[idx] * 255.f;
  return half_to_float(static_cast<const uint16_t*>(base)[idx]) * 255.f;
}

// load_255 with the element type fixed at compile time (no per-tap branch in pixel loops).
template <int Type>
DH_HD float load_255_t(const void* base, int idx) {
  return load_255(base, Type, idx);
}

template <int Type>
DH_HD float bilinear_t(const void* img, int w, int channels, const Taps& t, int ch) {
  return bilerp(load_255_t<Type>(img, (t.y0 * w + t.x0) * channels + ch),
                load_255_t<Type>(img, (t.y0 * w + t.x1) * channels + ch),
                load_255_t<Type>(img, (t.y1 * w + t.x0) * channels + ch),
                load_255_t<Type>(img, (t.y1 * w + t.x1) * channels + ch), t.fx, t.fy);
}

// Analytic soft mask in crop pixel coordinates. alpha = clamp(0.5 - d / feather, 0, 1) where d
// is the signed distance to the shape's boundary (negative inside); feather <= 0 is a hard edge.
enum MaskShape : int { kMaskNone = 0, kMaskArray = 1, kMaskEllipse = 2, kMaskPolygon = 3 };

struct ShapeMask {
  int shape;
  float cx, cy, rx, ry;         // ellipse: centre and radii, crop pixels
  float cos_a, sin_a;           // ellipse: cosine and sine of its rotation (set once on the host)
  const float* poly;            // polygon: n (x, y) vertices, crop pixels
  int n;
  float feather;                // px
};

// Ellipse: first-order signed distance (r - 1) / |grad r|, exact on circles.
DH_HD float ellipse_distance(const ShapeMask& m, float x, float y) {
  const float c = m.cos_a, s = m.sin_a;
  const float dx = x - m.cx, dy = y - m.cy;
  const float u = c * dx + s * dy, v = -s * dx + c * dy;
  const float qu = u / m.rx, qv = v / m.ry;
  const float r = sqrtf(qu * qu + qv * qv);
  if (r < 1e-12f) return -fminf(m.rx, m.ry);
  const float gu = qu / (m.rx * r), gv = qv / (m.ry * r);
  return (r - 1.f) / sqrtf(gu * gu + gv * gv);
}

// Polygon: distance to the nearest edge, negative inside (even-odd rule).
DH_HD float polygon_distance(const ShapeMask& m, float x, float y) {
  float best = 3.4e38f;
  bool inside = false;
  for (int i = 0, j = m.n - 1; i < m.n; j = i++) {
    const float ax = m.poly[2 * j], ay = m.poly[2 * j + 1];
    const float bx = m.poly[2 * i], by = m.poly[2 * i + 1];
    const float ex = bx - ax, ey = by - ay;
    const float len2 = ex * ex + ey * ey;
    const float t = len2 > 0.f ? clampf(((x - ax) * ex + (y - ay) * ey) / len2, 0.f, 1.f) : 0.f;
    const float px = ax + t * ex - x, py = ay + t * ey - y;
    best = fminf(best, px * px + py * py);
    if ((ay > y) != (by > y) && x < ax + (y - ay) * ex / ey) inside = !inside;
  }
  const float d = sqrtf(best);
  return inside ? -d : d;
}

DH_HD float shape_alpha(const ShapeMask& m, float x, float y) {
  const float d = m.shape == kMaskEllipse ? ellipse_distance(m, x, y) : polygon_distance(m, x, y);
  if (m.feather <= 0.f) return d <= 0.f ? 1.f : 0.f;
  return clampf(0.5f - d / m.feather, 0.f, 1.f);
}

}  // namespace dh
