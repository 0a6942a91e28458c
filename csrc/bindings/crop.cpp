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

// Checks every argument but the output; the pointers come from the args as they are.
CropParams crop_params(const ArrayArg& frame, const char* frame_name, const ArrayArg& affines, int size, int out_type, bool nchw,
                       const py::tuple& mean, const py::tuple& std, int border, float border_value,
                       const std::optional<ArrayArg>& mask) {
  check_frame(frame, frame_name);
  DH_CHECK(size >= 1, "size must be >= 1, got %d", size);
  DH_CHECK(affines.is_f32() && affines.ndim() == 3 && affines.shape[1] == 2 && affines.shape[2] == 3 &&
               affines.shape[0] >= 1 && affines.contiguous,
           "affines must be (B, 2, 3) float32 crop -> frame with B >= 1, got shape %s", shape_str(affines.shape).c);
  DH_CHECK(out_type == kU8 || out_type == kF32 || out_type == kF16, "out_type must be 0 u8, 1 f32, 2 f16, got %d", out_type);
  DH_CHECK(border == kBorderConstant || border == kBorderReplicate, "border must be 0 constant or 1 replicate, got %d", border);
  DH_CHECK(mean.size() == 3 && std.size() == 3, "mean and std must have 3 values, got %zu and %zu", mean.size(), std.size());
  CropParams p{};
  p.frame = static_cast<const uint8_t*>(frame.data);
  p.height = static_cast<int>(frame.shape[0]);
  p.width = static_cast<int>(frame.shape[1]);
  p.channels = static_cast<int>(frame.shape[2]);
  p.affines = static_cast<const float*>(affines.data);
  p.batch = static_cast<int>(affines.shape[0]);
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

std::vector<py::ssize_t> out_shape(const CropParams& p) {
  const py::ssize_t B = p.batch, S = p.size;
  return p.nchw ? std::vector<py::ssize_t>{B, 3, S, S} : std::vector<py::ssize_t>{B, S, S, 3};
}

py::array crop(py::array frame, F32 affines, int size, int out_type, bool nchw, py::tuple mean, py::tuple std,
               int border, float border_value, py::object mask, bool emulated) {
  py::array_t<float> mask_keep;
  CropParams p = crop_params(host_arg(frame), "frame", host_arg(affines), size, out_type, nchw, mean, std, border,
                             border_value, host_f32(mask, mask_keep));
  py::array out(elem_dtype(out_type), out_shape(p));
  p.out = out.mutable_data();
  run_host(p, emulated, crop_cpu, crop_emulated);
  return out;
}

// Items of a batch: frame i with affine i (batch 1 each), writing item i of `out_base` (the
// (N, ...) output, `item_bytes` apart); checks as crop().
template <typename ArgFn>
std::vector<CropParams> batch_params(const py::object& frames, const ArrayArg& affines, int size, int out_type,
                                     bool nchw, const py::tuple& mean, const py::tuple& std, int border,
                                     float border_value, const std::optional<ArrayArg>& mask, ArgFn arg) {
  const py::sequence fs = batch_list(frames, "frames");
  const std::size_t n = py::len(fs);
  DH_CHECK(affines.is_f32() && affines.ndim() == 3 && affines.shape[0] == static_cast<py::ssize_t>(n) &&
               affines.shape[1] == 2 && affines.shape[2] == 3 && affines.contiguous,
           "affines must be (N, 2, 3) = (%zu, 2, 3) float32 crop -> frame, got shape %s", n,
           shape_str(affines.shape).c);
  std::vector<CropParams> items(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Text name = item_name("frames", i);
    ArrayArg one = affines;
    one.data = static_cast<float*>(affines.data) + 6 * i;
    one.shape = {1, 2, 3};
    items[i] = crop_params(arg(fs[i], name.c), name.c, one, size, out_type, nchw, mean, std, border, border_value,
                           mask);
  }
  return items;
}

// The (N, ...) output of a batch: item i of crop()'s layout at out + i * item bytes.
void attach_outputs(std::vector<CropParams>& items, void* out) {
  if (items.empty()) return;
  const CropParams& p = items[0];
  const std::size_t item = std::size_t(3) * p.size * p.size * (p.out_type == kU8 ? 1 : p.out_type == kF32 ? 4 : 2);
  for (std::size_t i = 0; i < items.size(); ++i) items[i].out = static_cast<char*>(out) + i * item;
}

py::array crop_batch(py::object frames, F32 affines, int size, int out_type, bool nchw, py::tuple mean,
                     py::tuple std, int border, float border_value, py::object mask, bool emulated) {
  py::array_t<float> mask_keep;
  std::vector<CropParams> items = batch_params(frames, host_arg(affines), size, out_type, nchw, mean, std, border,
                                               border_value, host_f32(mask, mask_keep), host_obj);
  std::vector<py::ssize_t> shape = out_shape(items[0]);
  shape[0] = static_cast<py::ssize_t>(items.size());
  py::array out(elem_dtype(out_type), shape);
  attach_outputs(items, out.mutable_data());
  {
    py::gil_scoped_release release;
    (emulated ? crop_batch_emulated : crop_batch_cpu)(items.data(), static_cast<int>(items.size()));
  }
  return out;
}

constexpr const char* kBatchDoc =
    "crop_batch(frames, affines, size, out_type, nchw, mean, std, border, border_value, mask) -> array\n"
    "One crop per frame: frames: list of N (H_i, W_i, 3|4) uint8 C-contiguous (sizes may differ);\n"
    "affines: (N, 2, 3) float32, item i crop pixel -> frame i pixel; the rest as crop(). Returns\n"
    "what crop() returns for N affines: (N, S, S, 3) uint8, or float32/float16 (N, 3, S, S) if\n"
    "nchw else (N, S, S, 3).";

constexpr const char* kDoc =
    "crop(frame, affines, size, out_type, nchw, mean, std, border, border_value, mask) -> array\n"
    "frame: (H, W, 3|4) uint8 C-contiguous (first 3 channels sampled); affines: (B, 2, 3) crop\n"
    "pixel -> frame pixel; out_type 0: (B, S, S, 3) uint8; 1/2: float32/float16\n"
    "(x/255 - mean)/std as (B, 3, S, S) if nchw else (B, S, S, 3); border 0: constant\n"
    "border_value (0..255) outside the frame, 1: replicate; mask: optional (S, S) float32,\n"
    "pixels where mask > 0.5 are written as 0.";

}  // namespace

void register_crop(py::module_& m) {
  using namespace py::literals;
  auto args = [](bool emu) {
    return [emu](py::array frame, F32 affines, int size, int out_type, bool nchw, py::tuple mean, py::tuple std,
                 int border, float border_value, py::object mask) {
      return crop(frame, affines, size, out_type, nchw, mean, std, border, border_value, mask, emu);
    };
  };
  m.def("crop", args(false), kDoc, "frame"_a, "affines"_a, "size"_a, "out_type"_a = 0, "nchw"_a = true,
             "mean"_a = py::make_tuple(0.f, 0.f, 0.f), "std"_a = py::make_tuple(1.f, 1.f, 1.f),
             "border"_a = 0, "border_value"_a = 0.f, "mask"_a = py::none());
  auto batch = [](bool emu) {
    return [emu](py::object frames, F32 affines, int size, int out_type, bool nchw, py::tuple mean, py::tuple std,
                 int border, float border_value, py::object mask) {
      return crop_batch(frames, affines, size, out_type, nchw, mean, std, border, border_value, mask, emu);
    };
  };
  py::module_ emu = emulated_module(m);
  for (py::module_* mod : {&m, &emu})
    mod->def("crop_batch", batch(mod == &emu), kBatchDoc, "frames"_a, "affines"_a, "size"_a, "out_type"_a = 0,
             "nchw"_a = true, "mean"_a = py::make_tuple(0.f, 0.f, 0.f), "std"_a = py::make_tuple(1.f, 1.f, 1.f),
             "border"_a = 0, "border_value"_a = 0.f, "mask"_a = py::none());
  emulated_module(m).def("crop", args(true), kDoc, "frame"_a, "affines"_a, "size"_a, "out_type"_a = 0,
                         "nchw"_a = true, "mean"_a = py::make_tuple(0.f, 0.f, 0.f),
                         "std"_a = py::make_tuple(1.f, 1.f, 1.f), "border"_a = 0, "border_value"_a = 0.f,
                         "mask"_a = py::none());
#ifdef DH_WITH_CUDA
  m.def(
      "cuda_crop",
      [](py::object frame, py::object affines, int size, py::object out, int out_type, bool nchw, py::tuple mean,
         py::tuple std, int border, float border_value, py::object mask, std::uintptr_t stream) {
        CropParams p = crop_params(device_arg(frame, "frame"), "frame", device_arg(affines, "affines"), size, out_type, nchw,
                                   mean, std, border, border_value, device_opt(mask, "mask"));
        p.out = check_out(device_arg(out, "out"), out_shape(p), elem_dtype(out_type));
        DH_CHECK(p.batch <= 65535, "a CUDA launch takes at most 65535 affines (grid z), got %d", p.batch);
        py::gil_scoped_release release;
        crop_cuda(p, reinterpret_cast<void*>(stream));
      },
      "cuda_crop(frame, affines, size, out, out_type, nchw, mean, std, border, border_value, mask, stream)\n"
      "crop() on device memory, queued on the CUDA stream `stream` (int cudaStream_t, 0 = legacy\n"
      "default). frame, affines, out and mask are device arrays given as (ptr, shape, dtype, readonly)\n"
      "tuples of C-contiguous memory (mask may be None): frame (H, W, 3|4) uint8, affines (B, 2, 3)\n"
      "float32 crop pixel -> frame pixel (B <= 65535), mask (S, S) float32, out exactly what crop()\n"
      "returns: (B, S, S, 3) uint8 for out_type 0, else float32/float16 (B, 3, S, S) if nchw or\n"
      "(B, S, S, 3). Raises ValueError for bad shapes and RuntimeError if the launch fails.",
      "frame"_a, "affines"_a, "size"_a, "out"_a, "out_type"_a, "nchw"_a, "mean"_a, "std"_a, "border"_a,
      "border_value"_a, "mask"_a, "stream"_a);
  m.def(
      "cuda_crop_batch",
      [](py::object frames, py::object affines, int size, py::object out, int out_type, bool nchw, py::tuple mean,
         py::tuple std, int border, float border_value, py::object mask, std::uintptr_t stream) {
        std::vector<CropParams> items =
            batch_params(frames, device_arg(affines, "affines"), size, out_type, nchw, mean, std, border,
                         border_value, device_opt(mask, "mask"), device_arg);
        std::vector<py::ssize_t> shape = out_shape(items[0]);
        shape[0] = static_cast<py::ssize_t>(items.size());
        attach_outputs(items, check_out(device_arg(out, "out"), shape, elem_dtype(out_type)));
        py::gil_scoped_release release;
        crop_batch_cuda(items.data(), static_cast<int>(items.size()), reinterpret_cast<void*>(stream));
      },
      "cuda_crop_batch(frames, affines, size, out, out_type, nchw, mean, std, border, border_value, mask, stream)\n"
      "crop_batch() on device memory, queued on `stream`: frames a list of N device-array tuples,\n"
      "affines (N, 2, 3) float32 and out (what crop_batch() returns) device-array tuples, mask None\n"
      "or a tuple. One launch per table of items (csrc/kernels/common.h).",
      "frames"_a, "affines"_a, "size"_a, "out"_a, "out_type"_a, "nchw"_a, "mean"_a, "std"_a, "border"_a,
      "border_value"_a, "mask"_a, "stream"_a);
#endif
}

}  // namespace dh
