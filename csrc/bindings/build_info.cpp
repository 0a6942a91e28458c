// dhsdk._C.build_info(): how this extension was compiled.
#include <pybind11/pybind11.h>

#include "bindings/registry.h"
#include "cpu/parallel.h"

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
  d["openmp"] = true;  // omp simd loop pragmas honoured
#else
  d["openmp"] = false;
#endif
  d["threads"] = parallel_threads();
  d["openmp_max_threads"] = parallel_threads();  // the same number, for readers of older builds
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
        "build_info() -> dict: compiler, simd, fma, openmp (omp simd pragmas honoured), threads (CPU "
        "kernels' pool: DHSDK_NUM_THREADS, else OMP_NUM_THREADS, else all cores; openmp_max_threads: the "
        "same), cuda (bool: launchers compiled in), cuda_archs ('89,90'), cuda_compiler_version.");
}

}  // namespace dh
