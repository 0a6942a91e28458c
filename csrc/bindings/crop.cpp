// dhsdk._C.crop / dhsdk._C.emulated.crop (and dhsdk._C.cuda_crop when CUDA is compiled in):
// fused batch crop + normalise pre-processor.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

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

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;

// The options every crop of a call shares, checked once; frame, affine and out set per item.
CropParams crop_options(int size, int out_type, bool nchw, const py::tuple& mean, const py::tuple& std, int border,
                        float border_value, const std::optional<ArrayArg>& mask) {
  DH_CHECK(size >= 1, "size must be >= 1, got %d", size);
  DH_CHECK(out_type == kU8 || out_type == kF32 || out_type == kF16, "out_type must be 0 u8, 1 f32, 2 f16, got %d",
           out_type);
  DH_CHECK(border == kBorderConstant || border == kBorderReplicate, "border must be 0 constant or 1 replicate, got %d",
           border);
  DH_CHECK(mean.size() == 3 && std.size() == 3, "mean and std must have 3 values, got %zu and %zu", mean.size(),
           std.size());
  CropParams p{};
  p.size = size;
  p.out_type = out_type;
  p.nchw = out_type != kU8 && nchw;
  for (int c = 0; c < 3; ++c) {
    const float sd = std[c].cast<float>();
    DH_CHECK(sd != 0.f, "std must be non-zero, got %g for channel %d", sd, c);
    p.mean[c] = mean[c].cast<float>();
    p.inv_std[c] = 1.f / sd;
  }
  p.border = border;
  p.border_value = border_value;
  p.mask = optional_mask(mask, size);
  return p;
}

// The (B, 2, 3) float32 crop -> frame affines (host values); `count` >= 0 requires B == count.
std::vector<Affine> crop_affines(const F32& affines, long long count) {
  DH_CHECK(affines.ndim() == 3 && affines.shape(1) == 2 && affines.shape(2) == 3 && affines.shape(0) >= 1 &&
               (count < 0 || affines.shape(0) == count),
           count < 0 ? "affines must be (B, 2, 3) float32 crop -> frame with B >= 1, got shape %s"
                     : "affines must be (N, 2, 3) float32 crop -> frame, one per frame, got shape %s",
           shape_str(affines).c);
  const float* a = affines.data();
  std::vector<Affine> out(affines.shape(0));
  for (std::size_t i = 0; i < out.size(); ++i, a += 6) out[i] = Affine{a[0], a[1], a[2], a[3], a[4], a[5]};
  return out;
}

// One item per affine: frame `frames[i]` (or the one frame for every item) through affine i.
std::vector<CropParams> crop_items(const std::vector<ArrayArg>& frames, const std::vector<Affine>& affines,
                                   const CropParams& options, bool one_frame) {
  std::vector<CropParams> items(affines.size(), options);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const ArrayArg& f = frames[one_frame ? 0 : i];
    const Text name = one_frame ? Text{"frame"} : item_name("frames", i);
    check_frame(f, name.c);
    items[i].frame = static_cast<const uint8_t*>(f.data);
    items[i].height = static_cast<int>(f.shape[0]);
    items[i].width = static_cast<int>(f.shape[1]);
    items[i].channels = static_cast<int>(f.shape[2]);
    items[i].affine = affines[i];
  }
  return items;
}

// The (B, ...) output of B items: (B, S, S, 3) uint8, or float (B, 3, S, S) / (B, S, S, 3).
std::vector<py::ssize_t> out_shape(const CropParams& options, std::size_t count) {
  const py::ssize_t B = static_cast<py::ssize_t>(count), S = options.size;
  return options.nchw ? std::vector<py::ssize_t>{B, 3, S, S} : std::vector<py::ssize_t>{B, S, S, 3};
}

// Item i writes crop i of the (B, ...) output at `out`.
void attach_outputs(std::vector<CropParams>& items, void* out) {
  if (items.empty()) return;
  const CropParams& p = items[0];
  const std::size_t item = std::size_t(3) * p.size * p.size * (p.out_type == kU8 ? 1 : p.out_type == kF32 ? 4 : 2);
  for (std::size_t i = 0; i < items.size(); ++i) items[i].out = static_cast<char*>(out) + i * item;
}

// crop() and crop_batch() on the host: `frames` is one numpy frame (every affine samples it) or
// a list of N frames (affine i samples frame i).
py::array crop_host(const py::object& frames, bool one_frame, const F32& affines, int size, int out_type, bool nchw,
                    const py::tuple& mean, const py::tuple& std, int border, float border_value,
                    const py::object& mask, bool emulated) {
  py::array_t<float> mask_keep;
  const CropParams options = crop_options(size, out_type, nchw, mean, std, border, border_value,
                                          host_f32(mask, mask_keep));
  std::vector<ArrayArg> fs;
  if (one_frame) {
    fs.push_back(host_obj(frames, "frame"));
  } else {
    const py::sequence seq = batch_list(frames, "frames");
    for (std::size_t i = 0; i < py::len(seq); ++i) fs.push_back(host_obj(seq[i], item_name("frames", i).c));
  }
  std::vector<CropParams> items =
      crop_items(fs, crop_affines(affines, one_frame ? -1 : static_cast<long long>(fs.size())), options, one_frame);
  py::array out(elem_dtype(out_type), out_shape(options, items.size()));
  attach_outputs(items, out.mutable_data());
  {
    py::gil_scoped_release release;
    (emulated ? crop_batch_emulated : crop_batch_cpu)(items.data(), static_cast<int>(items.size()));
  }
  return out;
}

constexpr const char* kDoc =
    "crop(frame, affines, size, out_type, nchw, mean, std, border, border_value, mask) -> array\n"
    "frame: (H, W, 3|4) uint8 C-contiguous (first 3 channels sampled); affines: (B, 2, 3) crop\n"
    "pixel -> frame pixel; out_type 0: (B, S, S, 3) uint8; 1/2: float32/float16\n"
    "(x/255 - mean)/std as (B, 3, S, S) if nchw else (B, S, S, 3); border 0: constant\n"
    "border_value (0..255) outside the frame, 1: replicate; mask: optional (S, S) float32,\n"
    "pixels where mask > 0.5 are written as 0.";

constexpr const char* kBatchDoc =
    "crop_batch(frames, affines, size, out_type, nchw, mean, std, border, border_value, mask) -> array\n"
    "One crop per frame: frames: list of N (H_i, W_i, 3|4) uint8 C-contiguous (sizes may differ);\n"
    "affines: (N, 2, 3) float32, item i crop pixel -> frame i pixel; the rest as crop(). Returns\n"
    "what crop() returns for N affines: (N, S, S, 3) uint8, or float32/float16 (N, 3, S, S) if\n"
    "nchw else (N, S, S, 3).";

#ifdef DH_WITH_CUDA
// cuda_crop() and cuda_crop_batch(): as crop_host on device-array tuples, into `out`.
void crop_device(const py::object& frames, bool one_frame, const F32& affines, int size, const py::object& out,
                 int out_type, bool nchw, const py::tuple& mean, const py::tuple& std, int border, float border_value,
                 const py::object& mask, std::uintptr_t stream) {
  const CropParams options = crop_options(size, out_type, nchw, mean, std, border, border_value,
                                          device_opt(mask, "mask"));
  std::vector<ArrayArg> fs;
  if (one_frame) {
    fs.push_back(device_arg(frames, "frame"));
  } else {
    const py::sequence seq = batch_list(frames, "frames");
    for (std::size_t i = 0; i < py::len(seq); ++i) fs.push_back(device_arg(seq[i], item_name("frames", i).c));
  }
  std::vector<CropParams> items =
      crop_items(fs, crop_affines(affines, one_frame ? -1 : static_cast<long long>(fs.size())), options, one_frame);
  attach_outputs(items, check_out(device_arg(out, "out"), out_shape(options, items.size()), elem_dtype(out_type)));
  py::gil_scoped_release release;
  crop_batch_cuda(items.data(), static_cast<int>(items.size()), reinterpret_cast<void*>(stream));
}
#endif

}  // namespace

void register_crop(py::module_& m) {
  using namespace py::literals;
  auto bind = [](bool one_frame, bool emu) {
    return [one_frame, emu](py::object frames, F32 affines, int size, int out_type, bool nchw, py::tuple mean,
                            py::tuple std, int border, float border_value, py::object mask) {
      return crop_host(frames, one_frame, affines, size, out_type, nchw, mean, std, border, border_value, mask, emu);
    };
  };
  py::module_ emu = emulated_module(m);
  for (py::module_* mod : {&m, &emu}) {
    const bool e = mod == &emu;
    mod->def("crop", bind(true, e), kDoc, "frame"_a, "affines"_a, "size"_a, "out_type"_a = 0, "nchw"_a = true,
             "mean"_a = py::make_tuple(0.f, 0.f, 0.f), "std"_a = py::make_tuple(1.f, 1.f, 1.f), "border"_a = 0,
             "border_value"_a = 0.f, "mask"_a = py::none());
    mod->def("crop_batch", bind(false, e), kBatchDoc, "frames"_a, "affines"_a, "size"_a, "out_type"_a = 0,
             "nchw"_a = true, "mean"_a = py::make_tuple(0.f, 0.f, 0.f), "std"_a = py::make_tuple(1.f, 1.f, 1.f),
             "border"_a = 0, "border_value"_a = 0.f, "mask"_a = py::none());
  }
#ifdef DH_WITH_CUDA
  auto device = [](bool one_frame) {
    return [one_frame](py::object frames, F32 affines, int size, py::object out, int out_type, bool nchw,
                       py::tuple mean, py::tuple std, int border, float border_value, py::object mask,
                       std::uintptr_t stream) {
      crop_device(frames, one_frame, affines, size, out, out_type, nchw, mean, std, border, border_value, mask,
                  stream);
    };
  };
  m.def("cuda_crop", device(true),
        "cuda_crop(frame, affines, size, out, out_type, nchw, mean, std, border, border_value, mask, stream)\n"
        "crop() on device memory, queued on the CUDA stream `stream` (int cudaStream_t, 0 = legacy\n"
        "default). frame, out and mask are device arrays given as (ptr, shape, dtype, readonly) tuples\n"
        "of C-contiguous memory (mask may be None): frame (H, W, 3|4) uint8, mask (S, S) float32, out\n"
        "exactly what crop() returns; affines (B, 2, 3) float32 host values (they travel in the kernel's\n"
        "parameters: one launch per table of crops, nothing uploaded). Raises ValueError for bad\n"
        "shapes and RuntimeError if the launch fails.",
        "frame"_a, "affines"_a, "size"_a, "out"_a, "out_type"_a, "nchw"_a, "mean"_a, "std"_a, "border"_a,
        "border_value"_a, "mask"_a, "stream"_a);
  m.def("cuda_crop_batch", device(false),
        "cuda_crop_batch(frames, affines, size, out, out_type, nchw, mean, std, border, border_value, mask, stream)\n"
        "crop_batch() on device memory, queued on `stream`: frames a list of N device-array tuples,\n"
        "affines (N, 2, 3) float32 host values, out (what crop_batch() returns) and mask (None or\n"
        "(S, S) float32) device-array tuples. One launch per table of items (csrc/kernels/common.h).",
        "frames"_a, "affines"_a, "size"_a, "out"_a, "out_type"_a, "nchw"_a, "mean"_a, "std"_a, "border"_a,
        "border_value"_a, "mask"_a, "stream"_a);
#endif
}

}  // namespace dh
