/*
 * Convolutions of the native BLAS addon (addon.c), NHWC with [KH,KW,C,F]
 * filters, as im2col + sgemm over chunks of images:
 *
 *   conv2d(mode, a, b, out, geometry)
 *     geometry: Int32Array [B, H, W, C, OH, OW, F, KH, KW, strideH, strideW,
 *     dilationH, dilationW, padTop, padLeft];
 *     mode 0, forward:     a = x [B,H,W,C], b = filter, out = y [B,OH,OW,F]
 *     mode 1, filter grad: a = x, b = dy [B,OH,OW,F], out = dW [KH,KW,C,F]
 *     mode 2, input grad:  a = dy, b = filter, out = dx [B,H,W,C]
 *
 * A chunk's patch matrix ("cols": a row per output pixel, a column per filter
 * tap and input channel, zeros where a tap falls into the padding) holds about
 * 2 MiB, so it stays in cache between im2col and sgemm. y = cols · W,
 * dW = Σ colsᵀ · dy, and dx is dy · Wᵀ scattered back (col2im). im2col and
 * col2im share a chunk's images among the product threads (each image's patch
 * rows and dx are its own, so that changes no bit).
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include "napi-args.h"

/* GCC vectorizes these loops from -O3 only (the addon builds with -O2); it changes no result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

typedef struct {
  size_t b, h, w, c, oh, ow, f, kh, kw, sh, sw, dh, dw;
  ptrdiff_t top, left;
} geometry;

enum { FORWARD, FILTER_GRAD, INPUT_GRAD };

#define CHUNK_FLOATS ((size_t)1 << 19)
/* Patch-matrix values per thread at least when im2col and col2im share a chunk's images among the product threads. */
#define IMAGE_GRAIN ((size_t)1 << 15)

static bool read_geometry(napi_env env, napi_value v, geometry *g) {
  int32_t *p;
  size_t n;
  if (!typed_array(env, v, napi_int32_array, (void **)&p, &n, "geometry")) return false;
  bool ok = n == 15;
  for (size_t i = 0; ok && i < n; i++) ok = p[i] >= (i >= 9 && i <= 12 ? 1 : 0);
  if (!ok) {
    napi_throw_range_error(env, NULL, "geometry: 15 non-negative values, strides and dilations at least 1");
    return false;
  }
  *g = (geometry){p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14]};
  return true;
}

/* Input row of filter tap ky for output row oy; negative in the padding. */
static inline ptrdiff_t in_row(const geometry *g, size_t oy, size_t ky) {
  const ptrdiff_t iy = (ptrdiff_t)(oy * g->sh + ky * g->dh) - g->top;
  return iy < (ptrdiff_t)g->h ? iy : -1;
}

/* Input column of filter tap kx for output column ox; negative in the padding. */
static inline ptrdiff_t in_col(const geometry *g, size_t ox, size_t kx) {
  const ptrdiff_t ix = (ptrdiff_t)(ox * g->sw + kx * g->dw) - g->left;
  return ix < (ptrdiff_t)g->w ? ix : -1;
}

/* The patch rows of images [b0, b0 + nb) into cols ([nb·OH·OW, KH·KW·C]). */
static void im2col(const geometry *g, const float *x, size_t b0, size_t nb, float *cols) {
  const size_t tap = g->c, krow = g->kw * g->c;
  float *row = cols;
  for (size_t b = b0; b < b0 + nb; b++) {
    for (size_t oy = 0; oy < g->oh; oy++) {
      for (size_t ox = 0; ox < g->ow; ox++, row += g->kh * krow) {
        for (size_t ky = 0; ky < g->kh; ky++) {
          float *dst = row + ky * krow;
          const ptrdiff_t iy = in_row(g, oy, ky);
          if (iy < 0) {
            memset(dst, 0, krow * sizeof(float));
            continue;
          }
          const float *src = x + (b * g->h + (size_t)iy) * g->w * g->c;
          const ptrdiff_t ix0 = (ptrdiff_t)(ox * g->sw) - g->left;
          if (g->dw == 1 && ix0 >= 0 && ix0 + (ptrdiff_t)g->kw <= (ptrdiff_t)g->w) {
            memcpy(dst, src + (size_t)ix0 * g->c, krow * sizeof(float));
            continue;
          }
          for (size_t kx = 0; kx < g->kw; kx++, dst += tap) {
            const ptrdiff_t ix = in_col(g, ox, kx);
            if (ix < 0) memset(dst, 0, tap * sizeof(float));
            else memcpy(dst, src + (size_t)ix * g->c, tap * sizeof(float));
          }
        }
      }
    }
  }
}

/* Adds the patch rows of images [b0, b0 + nb) in cols back into dx (the adjoint of im2col). */
static void col2im_add(const geometry *g, const float *cols, size_t b0, size_t nb, float *dx) {
  const float *row = cols;
  for (size_t b = b0; b < b0 + nb; b++) {
    for (size_t oy = 0; oy < g->oh; oy++) {
      for (size_t ox = 0; ox < g->ow; ox++, row += g->kh * g->kw * g->c) {
        for (size_t ky = 0; ky < g->kh; ky++) {
          const ptrdiff_t iy = in_row(g, oy, ky);
          if (iy < 0) continue;
          for (size_t kx = 0; kx < g->kw; kx++) {
            const ptrdiff_t ix = in_col(g, ox, kx);
            if (ix < 0) continue;
            const float *src = row + (ky * g->kw + kx) * g->c;
            float *dst = dx + ((b * g->h + (size_t)iy) * g->w + (size_t)ix) * g->c;
            for (size_t ci = 0; ci < g->c; ci++) dst[ci] += src[ci];
          }
        }
      }
    }
  }
}

/* A chunk's images [b0, b0 + n) and its patch matrix, for im2col or col2im over a range of them on the product threads. */
typedef struct {
  const geometry *g;
  const float *x;
  float *dx, *cols;
  size_t b0;
} chunk_job;

static void im2col_images(void *ctx, size_t lo, size_t hi) {
  const chunk_job *j = ctx;
  im2col(j->g, j->x, j->b0 + lo, hi - lo, j->cols + lo * j->g->oh * j->g->ow * j->g->kh * j->g->kw * j->g->c);
}

static void col2im_images(void *ctx, size_t lo, size_t hi) {
  const chunk_job *j = ctx;
  col2im_add(j->g, j->cols + lo * j->g->oh * j->g->ow * j->g->kh * j->g->kw * j->g->c, j->b0 + lo, hi - lo, j->dx);
}

napi_value conv2d(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int64_t mode;
  float *a, *b, *out;
  size_t alen, blen, olen;
  geometry g;
  if (!arguments(env, info, 5, argv, "conv2d(mode, a, b, out, geometry)") || !non_negative(env, argv[0], &mode, "mode") ||
      !typed_array(env, argv[1], napi_float32_array, (void **)&a, &alen, "a") ||
      !typed_array(env, argv[2], napi_float32_array, (void **)&b, &blen, "b") ||
      !typed_array(env, argv[3], napi_float32_array, (void **)&out, &olen, "out") || !read_geometry(env, argv[4], &g)) {
    return NULL;
  }
  const size_t pixels = g.oh * g.ow, k = g.kh * g.kw * g.c;
  const size_t xs = g.b * g.h * g.w * g.c, ys = g.b * pixels * g.f, ws = k * g.f;
  const size_t need[3][3] = {{xs, ws, ys}, {xs, ys, ws}, {ys, ws, xs}};
  if (mode > INPUT_GRAD || alen < need[mode][0] || blen < need[mode][1] || olen < need[mode][2]) {
    napi_throw_range_error(env, NULL, "conv2d: mode 0-2 and operands of the geometry's sizes");
    return NULL;
  }
  memset(out, 0, need[mode][2] * sizeof(float));
  if (pixels == 0 || k == 0 || g.f == 0 || g.b == 0) return NULL;
  const size_t per_image = pixels * k;
  size_t nb = CHUNK_FLOATS / per_image;
  nb = nb < 1 ? 1 : (nb > g.b ? g.b : nb);
  float *cols = malloc(nb * per_image * sizeof(float));
  if (!cols) {
    napi_throw_error(env, NULL, "conv2d: out of memory for the patch matrix");
    return NULL;
  }
  for (size_t b0 = 0; b0 < g.b; b0 += nb) {
    const size_t n = nb < g.b - b0 ? nb : g.b - b0;
    const int rows = (int)(n * pixels);
    const size_t at = b0 * pixels * g.f;
    chunk_job job = {.g = &g, .x = a, .dx = out, .cols = cols, .b0 = b0};
    const size_t grain = per_image >= IMAGE_GRAIN ? 1 : IMAGE_GRAIN / per_image + 1;
    switch (mode) {
      case FORWARD:
        lp_parallel_for(n, grain, im2col_images, &job);
        lp_sgemm(CblasNoTrans, CblasNoTrans, rows, (int)g.f, (int)k, cols, (int)k, b, (int)g.f, 0.0f, out + at, (int)g.f);
        break;
      case FILTER_GRAD:
        lp_parallel_for(n, grain, im2col_images, &job);
        lp_sgemm(CblasTrans, CblasNoTrans, (int)k, (int)g.f, rows, cols, (int)k, b + at, (int)g.f, 1.0f, out, (int)g.f);
        break;
      default:
        lp_sgemm(CblasNoTrans, CblasTrans, rows, (int)k, (int)g.f, a + at, (int)g.f, b, (int)g.f, 0.0f, cols, (int)k);
        lp_parallel_for(n, grain, col2im_images, &job);
    }
  }
  free(cols);
  return NULL;
}
