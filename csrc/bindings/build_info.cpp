// dhsdk._C.build_info(): how this extension was compiled.
#include <pybind11/pybind11.h>

#ifdef DH_HAVE_OPENMP
#include <omp.h>
#endif

#include "bindings/registry.h"

namespace py = pybind11;

namespace dh {
namespace {

const char* simd_level() {
#if defined(__AVX512F__)
  return "AVX512";
#elif defined(__AVX2__)
  return "AVX2";
#elif defined(__AVX__)
  return "AVX";
#elif defined(__SSE4_2__)
  return "SSE4.2";
#elif defined(__SSE2__)
  return "SSE2";
#elif defined(__ARM_NEON)
  return "NEON";
#else
  return "scalar";
#endif
}

py::dict build_info() {
  py::dict d;
  d["compiler"] = DH_CXX_COMPILER;
  d["simd"] = simd_level();
  d["fma"] =
#if defined(__FMA__)
      true;
#else
      false;
#endif
#ifdef DH_HAVE_OPENMP
  d["openmp"] = true;
  d["openmp_max_threads"] = omp_get_max_threads();
#else
  d["openmp"] = false;
  d["openmp_max_threads"] = 1;
#endif
#ifdef DH_WITH_CUDA
  d["cuda"] = true;
  d["cuda_archs"] = DH_CUDA_ARCHS;
  d["cuda_compiler_version"] = DH_CUDA_VERSION;
#else
  d["cuda"] = false;
  d["cuda_archs"] = "";
  d["cuda_compiler_version"] = "";
#endif
  return d;
}

}  // namespace

void register_build_info(py::module_& m) {
  m.def("build_info", &build_info,
        "build_info() -> dict: compiler, simd, fma, openmp, openmp_max_threads, cuda (bool: "
        "launchers compiled in), cuda_archs ('89,90'), cuda_compiler_version.");
}

}  // namespace dh
