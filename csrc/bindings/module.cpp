// The extension module dhsdk._C: registration only, no logic.
#include "bindings/registry.h"

PYBIND11_MODULE(_C, m) {
  m.doc() = "dhsdk native kernels (CPU, threaded; CUDA launchers when compiled in)";
  dh::register_build_info(m);
  dh::register_cuda(m);
  dh::register_composite(m);
  dh::register_crop(m);
  dh::register_color(m);
  dh::register_warp(m);
}
