// Host side of the warp renderer's kernel (csrc/kernels/warp.h): per-frame triangle setup and
// tile binning (shared by every launcher), the threaded launcher and the emulated CUDA launch.
#include <algorithm>
#include <cmath>

#include "cpu/emulate.h"
#include "cpu/parallel.h"
#include "kernels/warp.h"

namespace dh {

WarpMesh warp_mesh(const float* src, const float* dst, const int* tri, int n_tris, int n_mouth, int size) {
  WarpMesh m;
  const int tile = 1 << m.tile_shift;
  m.tiles_x = (size + tile - 1) / tile;
  const int n_tiles = m.tiles_x * m.tiles_x;
  std::vector<int> box;  // per kept triangle: tx0, ty0, tx1, ty1
  std::vector<int> count(n_tiles + 1, 0);
  int bx0 = size, by0 = size, bx1 = -1, by1 = -1;
  for (int t = 0; t < n_tris; ++t) {
    const int i0 = tri[3 * t], i1 = tri[3 * t + 1], i2 = tri[3 * t + 2];
    const double px = dst[2 * i0], py = dst[2 * i0 + 1];
    const double e1x = dst[2 * i1] - px, e1y = dst[2 * i1 + 1] - py;
    const double e2x = dst[2 * i2] - px, e2y = dst[2 * i2 + 1] - py;
    const double det = e1x * e2y - e2x * e1y;
    if (!(std::fabs(det) > 2e-6)) continue;
    const double lo_x = std::min({px, px + e1x, px + e2x}), hi_x = std::max({px, px + e1x, px + e2x});
    const double lo_y = std::min({py, py + e1y, py + e2y}), hi_y = std::max({py, py + e1y, py + e2y});
    // Pixel centres inside the triangle's bounding box, clipped to the crop.
    const int x0 = std::max(0, static_cast<int>(std::ceil(lo_x - 1e-4)));
    const int y0 = std::max(0, static_cast<int>(std::ceil(lo_y - 1e-4)));
    const int x1 = std::min(size - 1, static_cast<int>(std::floor(hi_x + 1e-4)));
    const int y1 = std::min(size - 1, static_cast<int>(std::floor(hi_y + 1e-4)));
    if (x0 > x1 || y0 > y1) continue;
    const double sx = src[2 * i0], sy = src[2 * i0 + 1];
    const float row[kWarpTriFloats] = {
        static_cast<float>(e2y / det), static_cast<float>(-e2x / det),
        static_cast<float>(-e1y / det), static_cast<float>(e1x / det),
        static_cast<float>(px), static_cast<float>(py),
        static_cast<float>(sx), static_cast<float>(sy),
        static_cast<float>(src[2 * i1] - sx), static_cast<float>(src[2 * i1 + 1] - sy),
        static_cast<float>(src[2 * i2] - sx), static_cast<float>(src[2 * i2 + 1] - sy),
        t < n_mouth ? 1.f : 0.f};
    m.tris.insert(m.tris.end(), row, row + kWarpTriFloats);
    const int b[4] = {x0 >> m.tile_shift, y0 >> m.tile_shift, x1 >> m.tile_shift, y1 >> m.tile_shift};
    box.insert(box.end(), b, b + 4);
    for (int ty = b[1]; ty <= b[3]; ++ty)
      for (int tx = b[0]; tx <= b[2]; ++tx) ++count[ty * m.tiles_x + tx + 1];
    bx0 = std::min(bx0, x0);
    by0 = std::min(by0, y0);
    bx1 = std::max(bx1, x1);
    by1 = std::max(by1, y1);
  }
  for (int i = 0; i < n_tiles; ++i) count[i + 1] += count[i];
  m.tile_start = count;
  m.tile_tris.assign(count[n_tiles], 0);
  std::vector<int> fill(count.begin(), count.end() - 1);
  const int kept = static_cast<int>(box.size() / 4);
  for (int t = 0; t < kept; ++t) {
    const int* b = &box[4 * t];
    for (int ty = b[1]; ty <= b[3]; ++ty)
      for (int tx = b[0]; tx <= b[2]; ++tx) m.tile_tris[fill[ty * m.tiles_x + tx]++] = t;
  }
  if (kept) {
    m.x0 = bx0;
    m.y0 = by0;
    m.x1 = bx1;
    m.y1 = by1;
  }
  return m;
}

void warp_attach(WarpParams& p, const WarpMesh& mesh) {
  p.tris = mesh.tris.data();
  p.tile_start = mesh.tile_start.data();
  p.tile_tris = mesh.tile_tris.data();
  p.tile_shift = mesh.tile_shift;
  p.tiles_x = mesh.tiles_x;
  p.x0 = mesh.x0;
  p.y0 = mesh.y0;
  p.x1 = mesh.x1;
  p.y1 = mesh.y1;
}

void warp_cpu(const WarpParams& p) {
  parallel_for(p.y1 - p.y0 + 1, 8, [&](int b, int e) {
    for (int y = p.y0 + b; y < p.y0 + e; ++y)
      for (int x = p.x0; x <= p.x1; ++x) warp_pixel(p, x, y);
  });
}

void warp_emulated(const WarpParams& p) {
  if (p.x1 < p.x0 || p.y1 < p.y0) return;
  emulate_launch<WarpParams, warp_body>(grid_for(p.x1 - p.x0 + 1, p.y1 - p.y0 + 1, 1, kWarpBlock), kWarpBlock, p);
}

}  // namespace dh
