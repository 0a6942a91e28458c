// dhsdk._C.composite / dhsdk._C.emulated.composite (and dhsdk._C.cuda_composite when CUDA is
// compiled in): blend a crop into a frame in place.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "bindings/kernel_args.h"
#include "bindings/registry.h"
#include "cpu/kernels_cpu.h"
#ifdef DH_WITH_CUDA
#include "cuda/launchers.h"
#endif

namespace py = pybind11;

namespace dh {
namespace {

using Affine64 = py::array_t<double, py::array::forcecast>;

ShapeMask parse_shape(int shape, const py::tuple& ellipse, const std::optional<ArrayArg>& polygon, float feather) {
  ShapeMask m{};
  m.shape = shape;
  m.feather = feather;
  if (shape == kMaskEllipse) {
    DH_CHECK(ellipse.size() == 5, "ellipse must be (cx, cy, rx, ry, angle), got %zu values", ellipse.size());
    m.cx = ellipse[0].cast<float>();
    m.cy = ellipse[1].cast<float>();
    m.rx = ellipse[2].cast<float>();
    m.ry = ellipse[3].cast<float>();
    const float angle = ellipse[4].cast<float>();
    m.cos_a = std::cos(angle);
    m.sin_a = std::sin(angle);
    DH_CHECK(m.rx > 0 && m.ry > 0, "ellipse radii must be > 0, got %g, %g", m.rx, m.ry);
  } else if (shape == kMaskPolygon) {
    DH_CHECK(polygon && polygon->is_f32() && polygon->ndim() == 2 && polygon->shape[1] == 2 &&
                 polygon->shape[0] >= 3 && polygon->contiguous,
             "polygon must be (N, 2) float32 with N >= 3, got %s %s", polygon ? shape_str(polygon->shape).c : "None",
             polygon ? dtype_str(polygon->dtype).c : "");
    m.poly = static_cast<const float*>(polygon->data);
    m.n = static_cast<int>(polygon->shape[0]);
  } else {
    DH_CHECK(shape == kMaskNone || shape == kMaskArray, "unknown mask shape code %d", shape);
  }
  return m;
}

// The analytic alpha of composite, sampled at every crop pixel centre.
py::array_t<float> shape_mask(int size, int shape, py::tuple ellipse, py::object polygon, float feather) {
  DH_CHECK(size >= 1, "size must be >= 1, got %d", size);
  DH_CHECK(shape == kMaskEllipse || shape == kMaskPolygon, "shape must be 2 (ellipse) or 3 (polygon), got %d", shape);
  py::array_t<float> poly_keep;
  const ShapeMask m = parse_shape(shape, ellipse, host_f32(polygon, poly_keep), feather);
  py::array_t<float> out({size, size});
  float* o = out.mutable_data();
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) o[y * size + x] = shape_alpha(m, float(x), float(y));
  return out;
}

// The (2, 3) crop -> frame map of a call, checked, as 6 doubles a b c / d e f.
struct Map6 {
  double v[6];
};

Map6 affine_of(const Affine64& affine) {
  DH_CHECK(affine.ndim() == 2 && affine.shape(0) == 2 && affine.shape(1) == 3,
           "affine must be (2, 3) crop -> frame, got shape %s", shape_str(affine).c);
  auto A = affine.unchecked<2>();
  return Map6{{A(0, 0), A(0, 1), A(0, 2), A(1, 0), A(1, 1), A(1, 2)}};
}

// The frame-pixel extent of the crop-pixel box [u0, u1] x [v0, v1] mapped through `map`.
struct Span {
  double xmin, xmax, ymin, ymax;
};

Span span_of(const Map6& map, double u0, double v0, double u1, double v1) {
  const double a = map.v[0], b = map.v[1], c = map.v[2], d = map.v[3], e = map.v[4], f = map.v[5];
  Span s{1e300, -1e300, 1e300, -1e300};
  for (double u : {u0, u1})
    for (double v : {v0, v1}) {
      const double X = a * u + b * v + c, Y = d * u + e * v + f;
      s.xmin = std::min(s.xmin, X); s.xmax = std::max(s.xmax, X);
      s.ymin = std::min(s.ymin, Y); s.ymax = std::max(s.ymax, Y);
    }
  return s;
}

// The pixel box {x0, y0, x1, y1} (inclusive) of a span in a W x H frame (pixel centres at
// integers, grown to whole pixels); empty when x0 > x1 or y0 > y1.
struct PixelBox {
  int x0, y0, x1, y1;
};

PixelBox pixel_box(const Span& s, int W, int H) {
  return PixelBox{std::max(0, int(std::floor(std::max(s.xmin, -1.0)))), std::max(0, int(std::floor(std::max(s.ymin, -1.0)))),
                  std::min(W - 1, int(std::ceil(std::min(s.xmax, double(W))))),
                  std::min(H - 1, int(std::ceil(std::min(s.ymax, double(H)))))};
}

// Checks every argument and computes the inverse map and the ROI; the pointers come from the
// args as they are (host or device). `frame_name`/`crop_name` name them in errors.
CompositeParams composite_params(const ArrayArg& frame, const ArrayArg& crop, const Map6& map,
                                 const std::optional<ArrayArg>& mask, int shape, const py::tuple& ellipse,
                                 const std::optional<ArrayArg>& polygon, float feather, const char* frame_name = "frame",
                                 const char* crop_name = "crop") {
  check_frame(frame, frame_name);
  const int H = static_cast<int>(frame.shape[0]), W = static_cast<int>(frame.shape[1]);
  DH_CHECK(crop.ndim() == 3 && crop.shape[0] == crop.shape[1] && crop.shape[0] >= 1 && crop.shape[2] == 3,
           "%s must be S x S x 3 with S >= 1, got shape %s", crop_name, shape_str(crop.shape).c);
  DH_CHECK(crop.contiguous, "%s must be C-contiguous, shape %s", crop_name, shape_str(crop.shape).c);
  const int S = static_cast<int>(crop.shape[0]);
  const double a = map.v[0], b = map.v[1], c = map.v[2], d = map.v[3], e = map.v[4], f = map.v[5];
  const double det = a * e - b * d;
  DH_CHECK(std::isfinite(det) && std::fabs(det) > 1e-12, "affine is singular (det %g)", det);

  CompositeParams p{};
  p.frame = static_cast<uint8_t*>(writable_data(frame, frame_name));
  p.height = H;
  p.width = W;
  p.channels = static_cast<int>(frame.shape[2]);
  p.crop = crop.data;
  p.crop_type = elem_type(crop, crop_name);
  p.size = S;
  p.inv = Affine{float(e / det), float(-b / det), float((b * f - e * c) / det),
                 float(-d / det), float(a / det), float((d * c - a * f) / det)};
  p.shape = parse_shape(shape, ellipse, polygon, feather);
  if (shape == kMaskArray) {
    p.mask = optional_mask(mask, S);
    DH_CHECK(p.mask != nullptr, "shape 1 (mask) needs an (S, S) float32 mask array");
  }

  // ROI: bounding box of the crop's pixel area [-0.5, S-0.5]^2 mapped into the frame.
  const Span span = span_of(map, -0.5, -0.5, S - 0.5, S - 0.5);
  const PixelBox box = pixel_box(span, W, H);
  DH_CHECK(box.x0 <= box.x1 && box.y0 <= box.y1,
           "affine maps no pixel of the %s %s onto the %s %s (crop spans x %g..%g, y %g..%g)", crop_name,
           shape_str(crop.shape).c, frame_name, shape_str(frame.shape).c, span.xmin, span.xmax, span.ymin, span.ymax);
  p.x0 = box.x0;
  p.y0 = box.y0;
  p.roi_w = box.x1 - box.x0 + 1;
  p.roi_h = box.y1 - box.y0 + 1;
  return p;
}

// The (N, 2, 3) affines of a batch of N.
std::vector<Map6> batch_affines(const Affine64& affines, std::size_t n) {
  DH_CHECK(affines.ndim() == 3 && affines.shape(0) == static_cast<py::ssize_t>(n) && affines.shape(1) == 2 &&
               affines.shape(2) == 3,
           "affines must be (N, 2, 3) = (%zu, 2, 3) crop -> frame, got shape %s", n, shape_str(affines).c);
  auto A = affines.unchecked<3>();
  std::vector<Map6> maps(n);
  for (std::size_t i = 0; i < n; ++i)
    for (int k = 0; k < 6; ++k) maps[i].v[k] = A(i, k / 3, k % 3);
  return maps;
}

// Host launchers only: limit p's pixel loop to where its mask array can give alpha > 0. A
// sample reads the mask at its two neighbouring columns and rows, so outside the box of the
// mask's nonzero pixels grown by one pixel every tap is 0 and the pixel keeps its value; one
// more pixel keeps float rounding in the inverse map from reaching in. The frame is the same,
// bit for bit, with less work (a mouth mask covers about half of its crop); the ROI a call
// returns stays the crop's whole footprint, as on the GPU, which runs the whole box.
void limit_to_mask(CompositeParams& p, const Map6& map) {
  if (p.mask == nullptr || p.shape.shape != kMaskArray) return;
  const int S = p.size;
  int x0 = S, y0 = S, x1 = -1, y1 = -1;
  for (int y = 0; y < S; ++y) {
    const float* row = p.mask + static_cast<std::size_t>(y) * S;
    int first = S, last = -1;
    for (int x = 0; x < S; ++x) {
      const bool on = row[x] > 0.f;
      first = on && x < first ? x : first;
      last = on ? x : last;
    }
    if (last < 0) continue;
    x0 = std::min(x0, first);
    x1 = std::max(x1, last);
    y0 = std::min(y0, y);
    y1 = y;
  }
  PixelBox box{p.x0, p.y0, p.x0 - 1, p.y0 - 1};  // an all-zero mask blends nothing
  if (x1 >= 0)
    box = pixel_box(span_of(map, std::max(-0.5, x0 - 2.0), std::max(-0.5, y0 - 2.0), std::min(S - 0.5, x1 + 2.0),
                            std::min(S - 0.5, y1 + 2.0)), p.width, p.height);
  const int nx0 = std::max(p.x0, box.x0), ny0 = std::max(p.y0, box.y0);
  const int nx1 = std::min(p.x0 + p.roi_w - 1, box.x1), ny1 = std::min(p.y0 + p.roi_h - 1, box.y1);
  p.x0 = nx0;
  p.y0 = ny0;
  p.roi_w = std::max(0, nx1 - nx0 + 1);
  p.roi_h = std::max(0, ny1 - ny0 + 1);
}

// Per-item ROIs (x0, y0, w, h) as an (N, 4) int32 array.
py::array_t<int32_t> rois(const std::vector<CompositeParams>& items) {
  py::array_t<int32_t> out({static_cast<py::ssize_t>(items.size()), py::ssize_t{4}});
  int32_t* o = out.mutable_data();
  for (const auto& p : items) {
    *o++ = p.x0;
    *o++ = p.y0;
    *o++ = p.roi_w;
    *o++ = p.roi_h;
  }
  return out;
}

py::tuple roi(const CompositeParams& p) { return py::make_tuple(p.x0, p.y0, p.roi_w, p.roi_h); }

py::tuple composite(py::array frame, py::array crop, Affine64 affine, py::object mask, int shape, py::tuple ellipse,
                    py::object polygon, float feather, bool emulated) {
  py::array_t<float> mask_keep, poly_keep;
  const Map6 map = affine_of(affine);
  CompositeParams p = composite_params(host_arg(frame), host_arg(crop), map, host_f32(mask, mask_keep), shape,
                                       ellipse, host_f32(polygon, poly_keep), feather);
  const py::tuple touched = roi(p);
  if (!emulated) limit_to_mask(p, map);   // the emulated CUDA launch covers the whole box, as the GPU does
  if (p.roi_w > 0 && p.roi_h > 0) run_host(p, emulated, composite_cpu, composite_emulated);
  return touched;
}

// Batch items from lists of frames, crops and masks (None: alpha 1); `arg` makes an ArrayArg.
template <typename ArgFn>
std::vector<CompositeParams> batch_params(const py::object& frames, const py::object& crops, const Affine64& affines,
                                          const py::object& masks, ArgFn arg) {
  const py::sequence fs = batch_list(frames, "frames");
  const std::size_t n = py::len(fs);
  const py::sequence cs = batch_list(crops, "crops", static_cast<long long>(n));
  const bool have_masks = !masks.is_none();
  const py::sequence ms = have_masks ? batch_list(masks, "masks", static_cast<long long>(n)) : py::sequence(py::list());
  const std::vector<Map6> maps = batch_affines(affines, n);
  std::vector<CompositeParams> items(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Text fname = item_name("frames", i), cname = item_name("crops", i);
    std::optional<ArrayArg> mask;
    if (have_masks && !py::object(ms[i]).is_none()) mask = arg(ms[i], item_name("masks", i).c);
    items[i] = composite_params(arg(fs[i], fname.c), arg(cs[i], cname.c), maps[i], mask,
                                mask ? kMaskArray : kMaskNone, py::tuple(), std::nullopt, 0.f, fname.c, cname.c);
  }
  std::vector<const uint8_t*> ptrs(n);
  for (std::size_t i = 0; i < n; ++i) ptrs[i] = items[i].frame;
  std::sort(ptrs.begin(), ptrs.end());
  DH_CHECK(std::adjacent_find(ptrs.begin(), ptrs.end()) == ptrs.end(),
           "frames holds the same frame twice: a batch blends each frame once (run a second batch for a "
           "second crop on one frame)");
  return items;
}

// Host masks are float32 C-contiguous as given (no conversion: the caller keeps them alive).
py::array_t<int32_t> composite_batch(py::object frames, py::object crops, Affine64 affines, py::object masks,
                                     bool emulated) {
  std::vector<CompositeParams> items = batch_params(frames, crops, affines, masks, host_obj);
  py::array_t<int32_t> touched = rois(items);
  if (!emulated) {
    const std::vector<Map6> maps = batch_affines(affines, items.size());
    for (std::size_t i = 0; i < items.size(); ++i) limit_to_mask(items[i], maps[i]);
  }
  {
    py::gil_scoped_release release;
    (emulated ? composite_batch_emulated : composite_batch_cpu)(items.data(), static_cast<int>(items.size()));
  }
  return touched;
}

constexpr const char* kBatchDoc =
    "composite_batch(frames, crops, affines, masks) -> (N, 4) int32 ROIs (x0, y0, w, h)\n"
    "composite() of N independent (frame, crop, affine, mask) items in one call, each frame blended\n"
    "in place: frames: list of N (H_i, W_i, 3|4) uint8 C-contiguous (sizes may differ; the same\n"
    "frame may not appear twice); crops: list of N (S_i, S_i, 3) uint8/float32/float16; affines:\n"
    "(N, 2, 3) crop pixel -> frame pixel; masks: None (alpha 1) or a list of N items, each None or\n"
    "an (S_i, S_i) float32 C-contiguous alpha. The rows of all ROIs are shared out among the threads.";

constexpr const char* kDoc =
    "composite(frame, crop, affine, mask, shape, ellipse, polygon, feather) -> (x0, y0, w, h)\n"
    "Blend crop into frame in place. frame: (H, W, 3|4) uint8 C-contiguous (first 3 channels\n"
    "blended, in the crop's channel order); crop: (S, S, 3) uint8, or float32/float16 in 0..1;\n"
    "affine: (2, 3) crop pixel -> frame pixel; shape: 0 none (alpha 1), 1 mask ((S, S) float32\n"
    "alpha), 2 ellipse (cx, cy, rx, ry, angle_rad) in crop pixels, 3 polygon ((N, 2) crop pixels);\n"
    "feather: px width of the alpha ramp. Returns the touched ROI (x0, y0, w, h).";

}  // namespace

void register_composite(py::module_& m) {
  using namespace py::literals;
  auto args = [](bool emu) {
    return [emu](py::array frame, py::array crop, Affine64 affine, py::object mask, int shape, py::tuple ellipse,
                 py::object polygon, float feather) {
      return composite(frame, crop, affine, mask, shape, ellipse, polygon, feather, emu);
    };
  };
  m.def("composite", args(false), kDoc, "frame"_a, "crop"_a, "affine"_a, "mask"_a = py::none(),
        "shape"_a = 0, "ellipse"_a = py::tuple(), "polygon"_a = py::none(), "feather"_a = 0.f);
  m.def("shape_mask", &shape_mask,
        "shape_mask(size, shape, ellipse, polygon, feather) -> (S, S) float32: the analytic alpha\n"
        "composite uses for shape 2 (ellipse) / 3 (polygon), sampled at crop pixel centres.",
        "size"_a, "shape"_a, "ellipse"_a = py::tuple(), "polygon"_a = py::none(), "feather"_a = 0.f);
  auto batch = [](bool emu) {
    return [emu](py::object frames, py::object crops, Affine64 affines, py::object masks) {
      return composite_batch(frames, crops, affines, masks, emu);
    };
  };
  m.def("composite_batch", batch(false), kBatchDoc, "frames"_a, "crops"_a, "affines"_a, "masks"_a = py::none());
  emulated_module(m).def("composite_batch", batch(true), kBatchDoc, "frames"_a, "crops"_a, "affines"_a,
                         "masks"_a = py::none());
  emulated_module(m).def("composite", args(true), kDoc, "frame"_a, "crop"_a, "affine"_a,
                         "mask"_a = py::none(), "shape"_a = 0, "ellipse"_a = py::tuple(),
                         "polygon"_a = py::none(), "feather"_a = 0.f);
#ifdef DH_WITH_CUDA
  m.def(
      "cuda_composite",
      [](py::object frame, py::object crop, Affine64 affine, py::object mask, int shape, py::tuple ellipse,
         py::object polygon, float feather, std::uintptr_t stream) {
        const CompositeParams p =
            composite_params(device_arg(frame, "frame"), device_arg(crop, "crop"), affine_of(affine),
                             device_opt(mask, "mask"), shape, ellipse, device_opt(polygon, "polygon"), feather);
        {
          py::gil_scoped_release release;
          composite_cuda(p, reinterpret_cast<void*>(stream));
        }
        return roi(p);
      },
      "cuda_composite(frame, crop, affine, mask, shape, ellipse, polygon, feather, stream) -> (x0, y0, w, h)\n"
      "composite() on device memory, queued on the CUDA stream `stream` (int cudaStream_t, 0 = legacy\n"
      "default); returns the ROI at once (computed on the host), the frame is blended when the stream\n"
      "gets there. frame, crop, mask and polygon are device arrays given as (ptr, shape, dtype,\n"
      "readonly) tuples of C-contiguous memory (mask/polygon may be None): frame (H, W, 3|4) uint8\n"
      "(written), crop (S, S, 3) uint8/float32/float16, mask (S, S) float32, polygon (N, 2) float32;\n"
      "affine, shape, ellipse, feather as for composite() (host values). Raises ValueError for bad\n"
      "shapes (same checks as composite()) and RuntimeError with the CUDA error if the launch fails.",
      "frame"_a, "crop"_a, "affine"_a, "mask"_a, "shape"_a, "ellipse"_a, "polygon"_a, "feather"_a, "stream"_a);
  m.def(
      "cuda_composite_batch",
      [](py::object frames, py::object crops, Affine64 affines, py::object masks, std::uintptr_t stream) {
        std::vector<CompositeParams> items = batch_params(frames, crops, affines, masks, device_arg);
        {
          py::gil_scoped_release release;
          composite_batch_cuda(items.data(), static_cast<int>(items.size()), reinterpret_cast<void*>(stream));
        }
        return rois(items);
      },
      "cuda_composite_batch(frames, crops, affines, masks, stream) -> (N, 4) int32 ROIs\n"
      "composite_batch() on device memory, queued on `stream`: frames, crops and masks are lists of\n"
      "device-array tuples (ptr, shape, dtype, readonly) (masks: None or a list with None items);\n"
      "affines (N, 2, 3) host values. One launch per table of items (csrc/kernels/common.h).",
      "frames"_a, "crops"_a, "affines"_a, "masks"_a, "stream"_a);
#endif
}

}  // namespace dh
