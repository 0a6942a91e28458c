// dhsdk._C.rgb_to_yuv / rgb_to_yuv_batch / emulated.* (and dhsdk._C.cuda_rgb_to_yuv /
// cuda_rgb_to_yuv_batch when CUDA is compiled in): RGB/BGR(A) uint8 -> I420 or NV12.
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
ColorParams color_params(const ArrayArg& frame, const char* name, bool nv12, bool bgr, int standard) {
  check_frame(frame, name);
  const int H = static_cast<int>(frame.shape[0]), W = static_cast<int>(frame.shape[1]);
  DH_CHECK(H % 2 == 0 && W % 2 == 0, "%s height and width must be even for 4:2:0, got shape %s", name,
           shape_str(frame.shape).c);
  DH_CHECK(standard == 601 || standard == 709, "standard must be 601 or 709, got %d", standard);
  ColorParams p{};
  p.frame = static_cast<const uint8_t*>(frame.data);
  p.height = H;
  p.width = W;
  p.channels = static_cast<int>(frame.shape[2]);
  p.r_index = bgr ? 2 : 0;
  p.b_index = bgr ? 0 : 2;
  p.k = standard == 601 ? color_coeffs(0.299, 0.114) : color_coeffs(0.2126, 0.0722);
  p.nv12 = nv12;
  return p;
}

std::vector<py::ssize_t> out_shape(const ColorParams& p) { return {p.height * 3 / 2, p.width}; }

py::array_t<uint8_t> rgb_to_yuv(py::array frame, bool nv12, bool bgr, int standard, bool emulated) {
  ColorParams p = color_params(host_arg(frame), "frame", nv12, bgr, standard);
  py::array_t<uint8_t> out(out_shape(p));
  p.out = out.mutable_data();
  run_host(p, emulated, color_cpu, color_emulated);
  return out;
}

py::list rgb_to_yuv_batch(py::object frames, bool nv12, bool bgr, int standard, bool emulated) {
  const py::sequence seq = batch_list(frames, "frames");
  std::vector<ColorParams> items(py::len(seq));
  py::list outs;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Text name = item_name("frames", i);
    items[i] = color_params(host_obj(seq[i], name.c), name.c, nv12, bgr, standard);
    py::array_t<uint8_t> out(out_shape(items[i]));
    items[i].out = out.mutable_data();
    outs.append(out);
  }
  py::gil_scoped_release release;
  (emulated ? color_batch_emulated : color_batch_cpu)(items.data(), static_cast<int>(items.size()));
  return outs;
}

constexpr const char* kDoc =
    "rgb_to_yuv(frame, nv12, bgr, standard) -> (H*3/2, W) uint8\n"
    "frame: (H, W, 3|4) uint8 C-contiguous, H and W even, RGB (bgr=False) or BGR/BGRA;\n"
    "limited range BT.601 (standard=601) or BT.709; output I420 (Y, U, V planes) or NV12\n"
    "(Y plane, interleaved UV), chroma from the mean RGB of each 2 x 2 block, in 16.16 fixed point.";

constexpr const char* kBatchDoc =
    "rgb_to_yuv_batch(frames, nv12, bgr, standard) -> list of (H_i*3/2, W_i) uint8\n"
    "rgb_to_yuv() of each frame of the list `frames` ((H_i, W_i, 3|4) uint8, sizes may differ) in\n"
    "one call: the rows of all frames shared out among the threads.";

}  // namespace

void register_color(py::module_& m) {
  using namespace py::literals;
  auto args = [](bool emu) {
    return [emu](py::array frame, bool nv12, bool bgr, int standard) {
      return rgb_to_yuv(frame, nv12, bgr, standard, emu);
    };
  };
  auto batch = [](bool emu) {
    return [emu](py::object frames, bool nv12, bool bgr, int standard) {
      return rgb_to_yuv_batch(frames, nv12, bgr, standard, emu);
    };
  };
  py::module_ emu = emulated_module(m);
  for (py::module_* mod : {&m, &emu}) {
    const bool e = mod == &emu;
    mod->def("rgb_to_yuv", args(e), kDoc, "frame"_a, "nv12"_a = false, "bgr"_a = false, "standard"_a = 601);
    mod->def("rgb_to_yuv_batch", batch(e), kBatchDoc, "frames"_a, "nv12"_a = false, "bgr"_a = false,
             "standard"_a = 601);
  }
#ifdef DH_WITH_CUDA
  m.def(
      "cuda_rgb_to_yuv",
      [](py::object frame, py::object out, bool nv12, bool bgr, int standard, std::uintptr_t stream) {
        ColorParams p = color_params(device_arg(frame, "frame"), "frame", nv12, bgr, standard);
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
  m.def(
      "cuda_rgb_to_yuv_batch",
      [](py::object frames, py::object outs, bool nv12, bool bgr, int standard, std::uintptr_t stream) {
        const py::sequence fs = batch_list(frames, "frames");
        const py::sequence os = batch_list(outs, "outs", static_cast<long long>(py::len(fs)));
        std::vector<ColorParams> items(py::len(fs));
        for (std::size_t i = 0; i < items.size(); ++i) {
          items[i] = color_params(device_arg(fs[i], item_name("frames", i).c), item_name("frames", i).c, nv12, bgr,
                                  standard);
          items[i].out = static_cast<uint8_t*>(
              check_out(device_arg(os[i], item_name("outs", i).c), out_shape(items[i]), py::dtype::of<uint8_t>()));
        }
        py::gil_scoped_release release;
        color_batch_cuda(items.data(), static_cast<int>(items.size()), reinterpret_cast<void*>(stream));
      },
      "cuda_rgb_to_yuv_batch(frames, outs, nv12, bgr, standard, stream)\n"
      "cuda_rgb_to_yuv() of N frames in one launch per table of items (csrc/kernels/common.h):\n"
      "frames and outs are lists of N device-array tuples ((H_i, W_i, 3|4) and (H_i*3/2, W_i) uint8).",
      "frames"_a, "outs"_a, "nv12"_a, "bgr"_a, "standard"_a, "stream"_a);
#endif
}

}  // namespace dh
