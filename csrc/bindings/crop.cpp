// dhsdk._C.crop / dhsdk._C.emulated.crop: fused batch crop + normalise pre-processor.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "bindings/kernel_args.h"
#include "bindings/registry.h"
#include "cpu/kernels_cpu.h"

namespace py = pybind11;

namespace dh {
namespace {

py::array crop(py::array frame, py::array_t<float, py::array::c_style | py::array::forcecast> affines,
               int size, int out_type, bool nchw, py::tuple mean, py::tuple std, int border,
               float border_value, py::object mask, bool emulated) {
  check_frame(frame, "frame");
  DH_CHECK(size >= 1, "size must be >= 1, got " << size);
  DH_CHECK(affines.ndim() == 3 && affines.shape(1) == 2 && affines.shape(2) == 3 && affines.shape(0) >= 1,
           "affines must be (B, 2, 3) crop -> frame with B >= 1, got shape " << shape_str(affines));
  DH_CHECK(out_type == kU8 || out_type == kF32 || out_type == kF16, "out_type must be 0 u8, 1 f32, 2 f16");
  DH_CHECK(border == kBorderConstant || border == kBorderReplicate, "border must be 0 constant or 1 replicate");
  DH_CHECK(mean.size() == 3 && std.size() == 3, "mean and std must have 3 values");
  CropParams p{};
  p.frame = static_cast<const uint8_t*>(frame.data());
  p.height = static_cast<int>(frame.shape(0));
  p.width = static_cast<int>(frame.shape(1));
  p.channels = static_cast<int>(frame.shape(2));
  p.affines = affines.data();
  p.batch = static_cast<int>(affines.shape(0));
  p.size = size;
  p.out_type = out_type;
  p.nchw = out_type != kU8 && nchw;
  for (int c = 0; c < 3; ++c) {
    const float sd = std[c].cast<float>();
    DH_CHECK(sd != 0.f, "std must be non-zero");
    p.mean[c] = mean[c].cast<float>();
    p.inv_std[c] = 1.f / sd;
  }
  p.border = border;
  p.border_value = border_value;
  py::array_t<float> mask_keep;
  p.mask = optional_mask(mask, size, mask_keep);
  const py::ssize_t B = p.batch, S = size;
  py::dtype dt = out_type == kU8 ? py::dtype::of<uint8_t>() : out_type == kF32 ? py::dtype::of<float>() : py::dtype("float16");
  std::vector<py::ssize_t> shape = p.nchw ? std::vector<py::ssize_t>{B, 3, S, S} : std::vector<py::ssize_t>{B, S, S, 3};
  py::array out(dt, shape);
  p.out = out.mutable_data();
  run_host(p, emulated, crop_cpu, crop_emulated);
  return out;
}

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
    return [emu](py::array frame, py::array_t<float, py::array::c_style | py::array::forcecast> affines,
                 int size, int out_type, bool nchw, py::tuple mean, py::tuple std, int border,
                 float border_value, py::object mask) {
      return crop(frame, affines, size, out_type, nchw, mean, std, border, border_value, mask, emu);
    };
  };
  m.def("crop", args(false), kDoc, "frame"_a, "affines"_a, "size"_a, "out_type"_a = 0, "nchw"_a = true,
             "mean"_a = py::make_tuple(0.f, 0.f, 0.f), "std"_a = py::make_tuple(1.f, 1.f, 1.f),
             "border"_a = 0, "border_value"_a = 0.f, "mask"_a = py::none());
  emulated_module(m).def("crop", args(true), kDoc, "frame"_a, "affines"_a, "size"_a, "out_type"_a = 0,
                         "nchw"_a = true, "mean"_a = py::make_tuple(0.f, 0.f, 0.f),
                         "std"_a = py::make_tuple(1.f, 1.f, 1.f), "border"_a = 0, "border_value"_a = 0.f,
                         "mask"_a = py::none());
}

}  // namespace dh
