// CUDA launcher of the warp renderer's pixel pass (csrc/kernels/warp.h) on a caller-given stream.
#include <cuda_runtime.h>

#include <cstring>
#include <vector>

#include "cuda/launch.cuh"
#include "kernels/warp.h"

namespace dh {

void warp_cuda(WarpParams p, const WarpMesh& mesh, void* scratch, void* stream) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const std::size_t lut_floats = kWarpLutFloats * static_cast<std::size_t>(p.size);
  // One host blob: floats (triangles, three LUTs), then ints (tile offsets, tile lists).
  const std::size_t n_f = mesh.tris.size() + 3 * lut_floats;
  std::vector<char> blob(warp_device_bytes(mesh, p.size));
  float* f = reinterpret_cast<float*>(blob.data());
  std::memcpy(f, mesh.tris.data(), sizeof(float) * mesh.tris.size());
  std::memcpy(f + mesh.tris.size(), p.lut, sizeof(float) * lut_floats);
  std::memcpy(f + mesh.tris.size() + lut_floats, p.src_lut, sizeof(float) * lut_floats);
  std::memcpy(f + mesh.tris.size() + 2 * lut_floats, p.ref_lut, sizeof(float) * lut_floats);
  int* i = reinterpret_cast<int*>(f + n_f);
  std::memcpy(i, mesh.tile_start.data(), sizeof(int) * mesh.tile_start.size());
  std::memcpy(i + mesh.tile_start.size(), mesh.tile_tris.data(), sizeof(int) * mesh.tile_tris.size());
  cuda_check(cudaMemcpyAsync(scratch, blob.data(), blob.size(), cudaMemcpyHostToDevice, s), "warp tables upload");
  const float* df = static_cast<const float*>(scratch);
  const int* di = reinterpret_cast<const int*>(df + n_f);
  warp_attach(p, mesh);  // box and tiling; the table pointers are replaced by device ones
  p.tris = df;
  p.lut = df + mesh.tris.size();
  p.src_lut = p.lut + lut_floats;
  p.ref_lut = p.src_lut + lut_floats;
  p.tile_start = di;
  p.tile_tris = di + mesh.tile_start.size();
  const std::size_t image = 3 * static_cast<std::size_t>(p.size) * p.size;
  cuda_check(cudaMemcpyAsync(p.out, p.src, image, cudaMemcpyDeviceToDevice, s), "warp crop copy");
  // The blob is pageable host memory: the upload has completed when cudaMemcpyAsync returns.
  if (p.x1 < p.x0 || p.y1 < p.y0) return;
  launch<WarpParams, warp_body>(grid_for(p.x1 - p.x0 + 1, p.y1 - p.y0 + 1, 1, kWarpBlock), kWarpBlock, p, s,
                                "warp kernel launch");
}

}  // namespace dh
