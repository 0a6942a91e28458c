// dhsdk._C.rgb_to_yuv / dhsdk._C.emulated.rgb_to_yuv: RGB/BGR(A) uint8 -> I420 or NV12.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "bindings/kernel_args.h"
#include "bindings/registry.h"
#include "cpu/kernels_cpu.h"

namespace py = pybind11;

namespace dh {
namespace {

py::array_t<uint8_t> rgb_to_yuv(py::array frame, bool nv12, bool bgr, int standard, bool emulated) {
  check_frame(frame, "frame");
  const int H = static_cast<int>(frame.shape(0)), W = static_cast<int>(frame.shape(1));
  DH_CHECK(H % 2 == 0 && W % 2 == 0, "frame height and width must be even for 4:2:0, got shape " << shape_str(frame));
  DH_CHECK(standard == 601 || standard == 709, "standard must be 601 or 709, got " << standard);
  ColorParams p{};
  p.frame = static_cast<const uint8_t*>(frame.data());
  p.height = H;
  p.width = W;
  p.channels = static_cast<int>(frame.shape(2));
  p.r_index = bgr ? 2 : 0;
  p.b_index = bgr ? 0 : 2;
  p.kr = standard == 601 ? 0.299f : 0.2126f;
  p.kb = standard == 601 ? 0.114f : 0.0722f;
  p.nv12 = nv12;
  py::array_t<uint8_t> out({H * 3 / 2, W});
  p.out = out.mutable_data();
  run_host(p, emulated, color_cpu, color_emulated);
  return out;
}

constexpr const char* kDoc =
    "rgb_to_yuv(frame, nv12, bgr, standard) -> (H*3/2, W) uint8\n"
    "frame: (H, W, 3|4) uint8 C-contiguous, H and W even, RGB (bgr=False) or BGR/BGRA;\n"
    "limited range BT.601 (standard=601) or BT.709; output I420 (Y, U, V planes) or NV12\n"
    "(Y plane, interleaved UV), chroma from the mean RGB of each 2 x 2 block.";

}  // namespace

void register_color(py::module_& m) {
  using namespace py::literals;
  auto args = [](bool emu) {
    return [emu](py::array frame, bool nv12, bool bgr, int standard) {
      return rgb_to_yuv(frame, nv12, bgr, standard, emu);
    };
  };
  m.def("rgb_to_yuv", args(false), kDoc, "frame"_a, "nv12"_a = false, "bgr"_a = false, "standard"_a = 601);
  emulated_module(m).def("rgb_to_yuv", args(true), kDoc, "frame"_a, "nv12"_a = false, "bgr"_a = false,
                         "standard"_a = 601);
}

}  // namespace dh
