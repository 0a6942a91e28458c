// dhsdk._C.cuda_query(): driver, runtime and devices, never raising; the Python side
// (dhsdk.cuda_available / dhsdk.device) turns an error into a clear RuntimeError.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/registry.h"

#ifdef DH_WITH_CUDA
#include "cuda/device.h"
#endif

namespace py = pybind11;

namespace dh {

void register_cuda(py::module_& m) {
  m.def(
      "cuda_query",
      []() {
        py::dict d;
#ifdef DH_WITH_CUDA
        DeviceQuery q;
        {
          py::gil_scoped_release release;
          q = cuda_query();
        }
        d["compiled"] = true;
        d["driver_version"] = q.driver_version;
        d["runtime_version"] = q.runtime_version;
        d["error"] = q.error;
        py::list devs;
        for (const auto& dev : q.devices) {
          py::dict e;
          e["index"] = dev.index;
          e["name"] = dev.name;
          e["compute_capability"] = py::make_tuple(dev.major, dev.minor);
          e["total_memory"] = dev.total_memory;
          e["multiprocessors"] = dev.multiprocessors;
          devs.append(e);
        }
        d["devices"] = devs;
#else
        d["compiled"] = false;
        d["driver_version"] = 0;
        d["runtime_version"] = 0;
        d["error"] = "dhsdk was built without the CUDA launchers";
        d["devices"] = py::list();
#endif
        return d;
      },
      "cuda_query() -> dict(compiled, driver_version, runtime_version, error, devices). "
      "Never raises; error is '' when devices could be listed.");
}

}  // namespace dh
