// dhsdk._C.rgb_to_yuv / dhsdk._C.emulated.rgb_to_yuv (and dhsdk._C.cuda_rgb_to_yuv when CUDA is
// compiled in): RGB/BGR(A) uint8 -> I420 or NV12.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
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

// Checks the frame and the options; p.out is left for the caller.
ColorParams color_params(const ArrayArg& frame, bool nv12, bool bgr, int standard) {
  check_frame(frame, "frame");
  const int H = static_cast<int>(frame.shape[0]), W = static_cast<int>(frame.shape[1]);
  DH_CHECK(H % 2 == 0 && W % 2 == 0, "frame height and width must be even for 4:2:0, got shape " << shape_str(frame.shape));
  DH_CHECK(standard == 601 || standard == 709, "standard must be 601 or 709, got " << standard);
  ColorParams p{};
  p.frame = static_cast<const uint8_t*>(frame.data);
  p.height = H;
  p.width = W;
  p.channels = static_cast<int>(frame.shape[2]);
  p.r_index = bgr ? 2 : 0;
  p.b_index = bgr ? 0 : 2;
  p.kr = standard == 601 ? 0.299f : 0.2126f;
  p.kb = standard == 601 ? 0.114f : 0.0722f;
  p.nv12 = nv12;
  return p;
}

std::vector<py::ssize_t> out_shape(const ColorParams& p) { return {p.height * 3 / 2, p.width}; }

py::array_t<uint8_t> rgb_to_yuv(py::array frame, bool nv12, bool bgr, int standard, bool emulated) {
  ColorParams p = color_params(host_arg(frame), nv12, bgr, standard);
  py::array_t<uint8_t> out(out_shape(p));
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
#ifdef DH_WITH_CUDA
  m.def(
      "cuda_rgb_to_yuv",
      [](py::object frame, py::object out, bool nv12, bool bgr, int standard, std::uintptr_t stream) {
        ColorParams p = color_params(device_arg(frame, "frame"), nv12, bgr, standard);
        p.out = static_cast<uint8_t*>(check_out(device_arg(out, "out"), out_shape(p), py::dtype::of<uint8_t>()));
        py::gil_scoped_release release;
        color_cuda(p, reinterpret_cast<void*>(stream));
      },
      "cuda_rgb_to_yuv(frame, out, nv12, bgr, standard, stream)\n"
      "rgb_to_yuv() on device memory, queued on the CUDA stream `stream` (int cudaStream_t, 0 = legacy\n"
      "default). frame: (H, W, 3|4) uint8, H and W even; out: (H*3/2, W) uint8; both device arrays\n"
      "given as (ptr, shape, dtype, readonly) tuples of C-contiguous memory. Raises ValueError for\n"
      "bad shapes and RuntimeError if the launch fails.",
      "frame"_a, "out"_a, "nv12"_a, "bgr"_a, "standard"_a, "stream"_a);
#endif
}

}  // namespace dh
