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
 *
 * Small patches (KH·KW·C ≤ DIRECT_MAX_K, filters a multiple of 16: a first
 * layer on 1 to 3 channel images) run direct instead, forward and filter
 * gradient: an sgemm with k = 9 spends its time packing and the patch matrix
 * costs more memory traffic than the product
 * (the Fashion-MNIST CNN's first layer took 5.2 ms per batch of 128 that way, its
 * filter gradient one thread's 3 ms). y = Σ_t patch[t]·W[t] is summed tap by tap
 * in float32, no patch matrix made; the filter gradient sums each image's pixels
 * in order into the image's own partial dW,
 * and the partials are added in image order. Images are shared among the product
 * threads, so the bits do not depend on the thread count. The addon is built with
 * -ffp-contract=off, so every clone of these loops (target_clones: AVX-512, AVX2,
 * baseline; the CPU picks at load) multiplies and adds separately: the same bits
 * on every x86 CPU.
 */
#include <cblas.h>
#include <stdatomic.h>
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

/* Patches of at most this many values run direct (see the top of this file). */
#define DIRECT_MAX_K 32

/* Floats to hold n rounded up to whole 64-byte lines (aligned vector accesses: no split stores). */
static size_t lines_of(size_t n) { return (n + 15) / 16 * 16; }

/* Rows and columns of an image zero-padded so that every tap of every output pixel falls inside it. */
static size_t padded_rows(const geometry *g) { return (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1; }
static size_t padded_cols(const geometry *g) { return (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1; }

/* Image x zero-padded into xp ([padded_rows, padded_cols, C]): xp's (r, q) is x's (r − top, q − left), 0 outside x. */
static void pad_image(const geometry *g, const float *x, float *xp) {
  const size_t rows = padded_rows(g), cols = padded_cols(g), c = g->c;
  for (size_t r = 0; r < rows; r++) {
    const ptrdiff_t iy = (ptrdiff_t)r - g->top;
    for (size_t q = 0; q < cols; q++, xp += c) {
      const ptrdiff_t ix = (ptrdiff_t)q - g->left;
      if (iy < 0 || iy >= (ptrdiff_t)g->h || ix < 0 || ix >= (ptrdiff_t)g->w) memset(xp, 0, c * sizeof(float));
      else memcpy(xp, x + ((size_t)iy * g->w + (size_t)ix) * c, c * sizeof(float));
    }
  }
}

/* The offset in a padded image of each tap (ky, kx, channel: im2col's order) from its output pixel's first tap. */
static void tap_offsets(const geometry *g, size_t *off) {
  const size_t cols = padded_cols(g);
  for (size_t ky = 0, t = 0; ky < g->kh; ky++)
    for (size_t kx = 0; kx < g->kw; kx++)
      for (size_t ci = 0; ci < g->c; ci++) off[t++] = (ky * g->dh * cols + kx * g->dw) * g->c + ci;
}

/* 16 floats as one value (GCC's vector extension; 4-byte alignment: any float address). */
typedef float v16f __attribute__((vector_size(64), aligned(4)));

/*
 * y of one image (xp: zero-padded) = each pixel's patch · w, 16 filters at a
 * time summed in a register tap by tap (taps in im2col's order, from 0), then
 * written once, through relu(· + bias) where bias is given. f % 16 == 0.
 */
CLONES static void direct_forward_image(const geometry *g, const float *restrict xp, const size_t *off, const float *restrict w, const float *restrict bias, float *restrict y) {
  const size_t f = g->f, k = g->kh * g->kw * g->c, step = g->sw * g->c, row = g->sh * padded_cols(g) * g->c;
  for (size_t oy = 0; oy < g->oh; oy++) {
    for (size_t ox = 0; ox < g->ow; ox++, y += f) {
      const float *restrict base = xp + oy * row + ox * step;
      for (size_t jb = 0; jb < f; jb += 16) {
        v16f acc = {0};
        for (size_t t = 0; t < k; t++) acc = acc + base[off[t]] * *(const v16f *)(w + t * f + jb);
        *(v16f *)(y + jb) = acc;
      }
      if (bias) lp_bias_relu_row(y, bias, f);
    }
  }
}

/*
 * part (zeroed, aligned) = Σ over one image's pixels (xp: zero-padded), in
 * row-major order, of patchᵀ · dy. Pixel by pixel, so each pixel updates all of
 * part's independent sums at once (tap by tap, one tap's sums form a chain that
 * waits on itself).
 */
CLONES static void direct_filter_image(const geometry *g, const float *restrict xp, const size_t *off, const float *restrict dy, float *restrict part) {
  const size_t f = g->f, k = g->kh * g->kw * g->c, step = g->sw * g->c, row = g->sh * padded_cols(g) * g->c;
  for (size_t oy = 0; oy < g->oh; oy++) {
    for (size_t ox = 0; ox < g->ow; ox++, dy += f) {
      const float *restrict base = xp + oy * row + ox * step;
      for (size_t t = 0; t < k; t++) {
        const float v = base[off[t]];
        float *restrict pt = part + t * f;
        for (size_t j = 0; j < f; j++) pt[j] = pt[j] + v * dy[j];
      }
    }
  }
}

/* A direct convolution's operands: x, then w and bias (forward) or dy (filter gradient), and per image its y or partial dW. */
typedef struct {
  const geometry *g;
  const float *x, *b, *bias;
  float *out;
  size_t stride;
  int mode;
  atomic_bool failed;
} direct_job;

/* A range's buffers: the padded image and the tap offsets. */
typedef struct {
  float *xp;
  size_t *off;
} direct_scratch;

/* Allocates s (false, the job marked failed, when out of memory). */
static bool scratch_alloc(direct_job *j, direct_scratch *s) {
  const geometry *g = j->g;
  s->xp = malloc(padded_rows(g) * padded_cols(g) * g->c * sizeof(float));
  s->off = malloc(g->kh * g->kw * g->c * sizeof(size_t));
  if (s->xp && s->off) {
    tap_offsets(g, s->off);
    return true;
  }
  free(s->xp);
  free(s->off);
  atomic_store(&j->failed, true);
  return false;
}

static void scratch_free(direct_scratch *s) {
  free(s->xp);
  free(s->off);
}

/* Images [lo, hi) of a direct job, each zero-padded, then its forward pass or its partial filter gradient. */
static void direct_images(void *ctx, size_t lo, size_t hi) {
  direct_job *j = ctx;
  const geometry *g = j->g;
  direct_scratch s;
  if (!scratch_alloc(j, &s)) return;
  for (size_t i = lo; i < hi; i++) {
    pad_image(g, j->x + i * g->h * g->w * g->c, s.xp);
    if (j->mode == FORWARD) direct_forward_image(g, s.xp, s.off, j->b, j->bias, j->out + i * g->oh * g->ow * g->f);
    else direct_filter_image(g, s.xp, s.off, j->b + i * g->oh * g->ow * g->f, j->out + i * j->stride);
  }
  scratch_free(&s);
}

/* The forward pass (through relu(· + bias) where bias is given) or the filter gradient of a small-patch convolution into out; false when out of memory. */
static bool direct(const geometry *g, int mode, const float *x, const float *b, const float *bias, float *out) {
  direct_job job = {.g = g, .x = x, .b = b, .bias = bias, .out = out, .mode = mode};
  atomic_init(&job.failed, false);
  if (mode == FORWARD) {
    lp_parallel_for(g->b, 1, direct_images, &job);
    return !atomic_load(&job.failed);
  }
  const size_t ws = g->kh * g->kw * g->c * g->f;
  job.stride = lines_of(ws);
  job.out = aligned_alloc(64, g->b * job.stride * sizeof(float));
  if (!job.out) return false;
  memset(job.out, 0, g->b * job.stride * sizeof(float));
  lp_parallel_for(g->b, 1, direct_images, &job);
  if (atomic_load(&job.failed)) {
    free(job.out);
    return false;
  }
  memset(out, 0, ws * sizeof(float));
  for (size_t i = 0; i < g->b; i++) {
    const float *part = job.out + i * job.stride;
    for (size_t t = 0; t < ws; t++) out[t] = out[t] + part[t];
  }
  free(job.out);
  return true;
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

/* mode's convolution of a and b into out (then relu(out + bias) where bias is given, forward only); false with an error thrown. */
static bool convolve(napi_env env, const geometry *gp, int64_t mode, const float *a, const float *b, const float *bias, float *out) {
  const geometry g = *gp;
  const size_t pixels = g.oh * g.ow, k = g.kh * g.kw * g.c;
  const size_t sizes[3] = {g.b * pixels * g.f, k * g.f, g.b * g.h * g.w * g.c};
  if (pixels == 0 || k == 0 || g.f == 0 || g.b == 0) {
    memset(out, 0, sizes[mode] * sizeof(float));
    return true;
  }
  if (k <= DIRECT_MAX_K && g.f % 16 == 0 && mode != INPUT_GRAD) {
    if (direct(&g, (int)mode, a, b, bias, out)) return true;
    napi_throw_error(env, NULL, "conv2d: out of memory for the direct convolution's buffers");
    return false;
  }
  memset(out, 0, sizes[mode] * sizeof(float));
  const size_t per_image = pixels * k;
  size_t nb = CHUNK_FLOATS / per_image;
  nb = nb < 1 ? 1 : (nb > g.b ? g.b : nb);
  float *cols = malloc(nb * per_image * sizeof(float));
  if (!cols) {
    napi_throw_error(env, NULL, "conv2d: out of memory for the patch matrix");
    return false;
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
  if (bias) lp_bias_relu(out, g.b * pixels, bias, g.f);
  return true;
}

/* Reads a, b, out (Float32Arrays of mode's sizes) and the geometry from argv[0..4). */
static bool conv_operands(napi_env env, napi_value *argv, int64_t mode, float **a, float **b, float **out, geometry *g) {
  size_t alen, blen, olen;
  if (!typed_array(env, argv[0], napi_float32_array, (void **)a, &alen, "a") || !typed_array(env, argv[1], napi_float32_array, (void **)b, &blen, "b") ||
      !typed_array(env, argv[2], napi_float32_array, (void **)out, &olen, "out") || !read_geometry(env, argv[3], g)) {
    return false;
  }
  const size_t k = g->kh * g->kw * g->c, xs = g->b * g->h * g->w * g->c, ys = g->b * g->oh * g->ow * g->f, ws = k * g->f;
  const size_t need[3][3] = {{xs, ws, ys}, {xs, ys, ws}, {ys, ws, xs}};
  if (mode > INPUT_GRAD || alen < need[mode][0] || blen < need[mode][1] || olen < need[mode][2]) {
    napi_throw_range_error(env, NULL, "conv2d: mode 0-2 and operands of the geometry's sizes");
    return false;
  }
  return true;
}

napi_value conv2d(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int64_t mode;
  float *a, *b, *out;
  geometry g;
  if (!arguments(env, info, 5, argv, "conv2d(mode, a, b, out, geometry)") || !non_negative(env, argv[0], &mode, "mode") || !conv_operands(env, argv + 1, mode, &a, &b, &out, &g)) return NULL;
  convolve(env, &g, mode, a, b, NULL, out);
  return NULL;
}

napi_value conv2d_bias_relu(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  float *x, *w, *y, *bias;
  size_t blen;
  geometry g;
  if (!arguments(env, info, 5, argv, "conv2dBiasRelu(x, filter, bias, y, geometry)") || !typed_array(env, argv[2], napi_float32_array, (void **)&bias, &blen, "bias")) return NULL;
  napi_value rest[4] = {argv[0], argv[1], argv[3], argv[4]};
  if (!conv_operands(env, rest, FORWARD, &x, &w, &y, &g)) return NULL;
  if (blen != g.f) {
    napi_throw_range_error(env, NULL, "conv2dBiasRelu: bias must hold one value per filter");
    return NULL;
  }
  convolve(env, &g, FORWARD, x, w, bias, y);
  return NULL;
}
