/*
 * Max pooling of the native addon (addon.c), NHWC float32, TF.js's rules
 * (the cpu backend's): a window's maximum over its in-bounds pixels, NaNs
 * never chosen, -Infinity where none is larger; the gradient goes to the first
 * strictly largest pixel of each window in row-major order.
 *
 *   maxPool(x, y, geometry)          y = max over each window of x
 *   maxPoolGrad(x, dy, dx, geometry) dx = Σ over windows of dy at their maximum
 *     geometry: Int32Array [B, H, W, C, OH, OW, filterH, filterW, strideH,
 *     strideW, padTop, padLeft]
 *
 * Channels are innermost, so each window pixel is one contiguous run of C
 * values that the compiler vectorizes. The gradient visits windows in output
 * order and adds into dx, so overlapping windows sum in that order. Images are
 * independent (a window never leaves its image), so threads take whole images
 * (lp_parallel_for) and change no bit.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "napi-args.h"

/* GCC vectorizes these loops from -O3 only (the addon builds with -O2); it changes no result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

typedef struct {
  size_t b, h, w, c, oh, ow, fh, fw, sh, sw;
  ptrdiff_t top, left;
} pool_geometry;

/* Reads argv[arrays] as the geometry and argv[0..arrays) as Float32Arrays of its sizes: x, then y or dy, then dx. */
static bool read_pool(napi_env env, napi_value *argv, size_t arrays, float **views, pool_geometry *g) {
  int32_t *p;
  size_t n, len[3];
  if (!typed_array(env, argv[arrays], napi_int32_array, (void **)&p, &n, "geometry")) return false;
  bool ok = n == 12;
  for (size_t i = 0; ok && i < n; i++) ok = p[i] >= (i == 8 || i == 9 ? 1 : 0);
  if (!ok) {
    napi_throw_range_error(env, NULL, "geometry: 12 non-negative values, strides at least 1");
    return false;
  }
  *g = (pool_geometry){p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]};
  const size_t xs = g->b * g->h * g->w * g->c, ys = g->b * g->oh * g->ow * g->c;
  const size_t need[3] = {xs, ys, xs};
  for (size_t i = 0; i < arrays; i++) {
    if (!typed_array(env, argv[i], napi_float32_array, (void **)&views[i], &len[i], "pool operand")) return false;
    if (len[i] != need[i]) {
      napi_throw_range_error(env, NULL, "pool operand: not of the geometry's size");
      return false;
    }
  }
  return true;
}

/* The in-bounds window [r0, r1) × [c0, c1) of output pixel (oy, ox). */
static inline void window(const pool_geometry *g, size_t oy, size_t ox, size_t *r0, size_t *r1, size_t *c0, size_t *c1) {
  const ptrdiff_t top = (ptrdiff_t)(oy * g->sh) - g->top, left = (ptrdiff_t)(ox * g->sw) - g->left;
  const ptrdiff_t bottom = top + (ptrdiff_t)g->fh, right = left + (ptrdiff_t)g->fw;
  *r0 = top < 0 ? 0 : (size_t)top;
  *c0 = left < 0 ? 0 : (size_t)left;
  *r1 = bottom > (ptrdiff_t)g->h ? g->h : (bottom < 0 ? 0 : (size_t)bottom);
  *c1 = right > (ptrdiff_t)g->w ? g->w : (right < 0 ? 0 : (size_t)right);
}

/* Elements per thread at least: below this, starting a thread costs more than it saves. */
#define GRAIN ((size_t)1 << 15)

/* A pooling call's operands, for a range of images; `failed` is set where a range's scratch could not be allocated. */
typedef struct {
  const pool_geometry *g;
  const float *x, *dy;
  float *out;
  atomic_bool failed;
} pool_job;

CLONES static void max_pool_images(void *ctx, size_t b0, size_t b1) {
  pool_job *j = ctx;
  const pool_geometry *g = j->g;
  for (size_t b = b0; b < b1; b++) {
    for (size_t oy = 0; oy < g->oh; oy++) {
      for (size_t ox = 0; ox < g->ow; ox++) {
        float *restrict out = j->out + ((b * g->oh + oy) * g->ow + ox) * g->c;
        size_t r0, r1, c0, c1;
        window(g, oy, ox, &r0, &r1, &c0, &c1);
        for (size_t d = 0; d < g->c; d++) out[d] = -INFINITY;
        for (size_t r = r0; r < r1; r++) {
          for (size_t col = c0; col < c1; col++) {
            const float *restrict px = j->x + ((b * g->h + r) * g->w + col) * g->c;
            for (size_t d = 0; d < g->c; d++) out[d] = px[d] > out[d] ? px[d] : out[d];
          }
        }
      }
    }
  }
}

/* Images per thread at least, so that each range holds about GRAIN elements. */
static size_t image_grain(const pool_geometry *g) {
  const size_t per_image = g->h * g->w * g->c;
  return per_image >= GRAIN ? 1 : GRAIN / (per_image + 1) + 1;
}

napi_value max_pool(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  float *v[2];
  pool_geometry g;
  if (!arguments(env, info, 3, argv, "maxPool(x, y, geometry)") || !read_pool(env, argv, 2, v, &g)) return NULL;
  pool_job j = {.g = &g, .x = v[0], .out = v[1]};
  lp_parallel_for(g.b, image_grain(&g), max_pool_images, &j);
  return NULL;
}

/* Where x is larger than best: best = x, at = k (branch-free, so it vectorizes). */
static inline void update_best(size_t c, const float *restrict x, int32_t k, float *restrict best, int32_t *restrict at) {
  for (size_t d = 0; d < c; d++) {
    const float v = x[d], cur = best[d];
    const int32_t larger = -(int32_t)(v > cur);
    best[d] = v > cur ? v : cur;
    at[d] = (at[d] & ~larger) | (k & larger);
  }
}

CLONES static void max_pool_grad_images(void *ctx, size_t b0, size_t b1) {
  pool_job *j = ctx;
  const pool_geometry *g = j->g;
  /* Per channel: the best value so far and its window tap (-1: none); the taps' offsets into x. */
  size_t *tap_at = malloc((g->fh * g->fw + 1) * sizeof(size_t));
  int32_t *at = malloc(g->c * (sizeof(int32_t) + sizeof(float)) + 1);
  if (!at || !tap_at) {
    atomic_store(&j->failed, true);
    free(at);
    free(tap_at);
    return;
  }
  float *best = (float *)(at + g->c);
  for (size_t b = b0; b < b1; b++) {
    for (size_t oy = 0; oy < g->oh; oy++) {
      for (size_t ox = 0; ox < g->ow; ox++) {
        size_t r0, r1, c0, c1;
        window(g, oy, ox, &r0, &r1, &c0, &c1);
        for (size_t d = 0; d < g->c; d++) {
          best[d] = -INFINITY;
          at[d] = -1;
        }
        int32_t k = 0;
        for (size_t r = r0; r < r1; r++) {
          for (size_t col = c0; col < c1; col++, k++) {
            tap_at[k] = ((b * g->h + r) * g->w + col) * g->c;
            update_best(g->c, j->x + tap_at[k], k, best, at);
          }
        }
        const float *g_out = j->dy + ((b * g->oh + oy) * g->ow + ox) * g->c;
        for (size_t d = 0; d < g->c; d++)
          if (at[d] >= 0) j->out[tap_at[at[d]] + d] += g_out[d];
      }
    }
  }
  free(tap_at);
  free(at);
}

napi_value max_pool_grad(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  float *v[3];
  pool_geometry g;
  if (!arguments(env, info, 4, argv, "maxPoolGrad(x, dy, dx, geometry)") || !read_pool(env, argv, 3, v, &g)) return NULL;
  memset(v[2], 0, g.b * g.h * g.w * g.c * sizeof(float));
  pool_job j = {.g = &g, .x = v[0], .dy = v[1], .out = v[2]};
  atomic_init(&j.failed, false);
  lp_parallel_for(g.b, image_grain(&g), max_pool_grad_images, &j);
  if (atomic_load(&j.failed)) napi_throw_error(env, NULL, "maxPoolGrad: out of memory");
  return NULL;
}
