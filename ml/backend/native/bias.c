/*
 * Bias addition and its gradient, ReLU and its gradient, for the native addon
 * (addon.c), float32:
 *
 *   biasAdd(x, bias, out)    out = x + bias, bias repeated along x's rows
 *                            (x's length a multiple of bias's)
 *   sumMiddle(x, out, outer, mid, inner)
 *                            x viewed as [outer, mid, inner]: out[o, i] =
 *                            Σ_m x[o, m, i] (a bias gradient: dy summed over
 *                            all but the channels), in float64 in the order of
 *                            wasm-kernels/layout.ts's sumMiddle, so the bits
 *                            are that kernel's
 *   relu(x, out)             out = max(0, x) as JavaScript's Math.max: NaN stays
 *                            NaN, -0 becomes 0 (the cpu backend's Relu)
 *   reluGrad(dy, x, out)     out = dy · step(x), step(x) = NaN for NaN x, else
 *                            1 for x > 0 and 0 otherwise: TF.js's Relu
 *                            gradient (mul(dy, step(x))) in one pass
 *
 * They share their elements among the product threads (lp_parallel_for);
 * elements are independent, so that changes no bit. sumMiddle shares its
 * columns, in blocks of one cache line, and sums each column in one fixed
 * order whatever thread runs it.
 */
#include <math.h>
#include "napi-args.h"

/* GCC vectorizes these loops from -O3 only (the addon builds with -O2); it changes no result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

/* Elements per thread at least: below this, starting a thread costs more than it saves. */
#define GRAIN ((size_t)1 << 17)

/* Operands of a pass over elements or rows: up to three arrays and a row length. */
typedef struct {
  float *v[3];
  size_t n;
} pass;

/* Reads `count` Float32Arrays from argv into views and lengths. */
static bool float_arrays(napi_env env, napi_value *argv, size_t count, float **views, size_t *lengths) {
  for (size_t i = 0; i < count; i++)
    if (!typed_array(env, argv[i], napi_float32_array, (void **)&views[i], &lengths[i], "operand")) return false;
  return true;
}

static void bias_rows(void *ctx, size_t lo, size_t hi) {
  const pass *j = ctx;
  const size_t n = j->n;
  for (size_t r = lo; r < hi; r++) {
    const float *restrict x = j->v[0] + r * n, *restrict bias = j->v[1];
    float *restrict out = j->v[2] + r * n;
    for (size_t i = 0; i < n; i++) out[i] = x[i] + bias[i];
  }
}

napi_value bias_add(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  float *v[3];
  size_t len[3];
  if (!arguments(env, info, 3, argv, "biasAdd(x, bias, out)") || !float_arrays(env, argv, 3, v, len)) return NULL;
  if (len[1] == 0 || len[0] % len[1] != 0 || len[2] != len[0]) {
    napi_throw_range_error(env, NULL, "biasAdd: x and out of one length, a multiple of bias's");
    return NULL;
  }
  pass j = {{v[0], v[1], v[2]}, len[1]};
  lp_parallel_for(len[0] / len[1], GRAIN / len[1] + 1, bias_rows, &j);
  return NULL;
}

/* Columns of sumMiddle per block: one 64-byte cache line of float32. */
#define SUM_COLUMNS 16

/* Operands of sumMiddle: x as [outer, mid, inner], out as [outer, inner]. */
typedef struct {
  const float *x;
  float *out;
  size_t outer, mid, inner;
} sum_job;

/* out[o, i] for the columns i of blocks [lo, hi): each column summed over mid in the same order whatever thread runs it. */
static void sum_blocks(void *ctx, size_t lo, size_t hi) {
  const sum_job *j = ctx;
  const size_t first = lo * SUM_COLUMNS, last = hi * SUM_COLUMNS < j->inner ? hi * SUM_COLUMNS : j->inner;
  for (size_t c0 = first; c0 < last; c0 += SUM_COLUMNS) {
    const size_t w = last - c0 < SUM_COLUMNS ? last - c0 : SUM_COLUMNS;
    for (size_t o = 0; o < j->outer; o++) {
      double acc[SUM_COLUMNS] = {0};
      const float *p = j->x + o * j->mid * j->inner + c0;
      size_t m = 0;
      for (; m + 4 <= j->mid; m += 4, p += 4 * j->inner) {
        const float *restrict p1 = p + j->inner, *restrict p2 = p + 2 * j->inner, *restrict p3 = p + 3 * j->inner;
        for (size_t i = 0; i < w; i++) acc[i] = acc[i] + (((double)p[i] + (double)p1[i]) + ((double)p2[i] + (double)p3[i]));
      }
      for (; m < j->mid; m++, p += j->inner)
        for (size_t i = 0; i < w; i++) acc[i] = acc[i] + (double)p[i];
      float *out = j->out + o * j->inner + c0;
      for (size_t i = 0; i < w; i++) out[i] = (float)acc[i];
    }
  }
}

napi_value sum_middle(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  float *v[2];
  size_t len[2];
  int64_t outer, mid, inner;
  if (!arguments(env, info, 5, argv, "sumMiddle(x, out, outer, mid, inner)") || !float_arrays(env, argv, 2, v, len) ||
      !non_negative(env, argv[2], &outer, "outer") || !non_negative(env, argv[3], &mid, "mid") || !non_negative(env, argv[4], &inner, "inner")) {
    return NULL;
  }
  const size_t o_n = (size_t)outer, m_n = (size_t)mid, i_n = (size_t)inner;
  if (len[0] != o_n * m_n * i_n || len[1] != o_n * i_n) {
    napi_throw_range_error(env, NULL, "sumMiddle: x must hold outer·mid·inner values and out outer·inner");
    return NULL;
  }
  sum_job j = {v[0], v[1], o_n, m_n, i_n};
  const size_t blocks = (i_n + SUM_COLUMNS - 1) / SUM_COLUMNS;
  const size_t per_block = o_n * m_n * SUM_COLUMNS;
  lp_parallel_for(blocks, per_block ? GRAIN / per_block + 1 : blocks + 1, sum_blocks, &j);
  return NULL;
}

static void relu_grad_range(void *ctx, size_t lo, size_t hi) {
  const pass *j = ctx;
  const float *restrict dy = j->v[0], *restrict x = j->v[1];
  float *restrict out = j->v[2];
  for (size_t i = lo; i < hi; i++) {
    const float step = x[i] > 0 ? 1.0f : (x[i] != x[i] ? NAN : 0.0f);
    out[i] = dy[i] * step;
  }
}

napi_value relu_grad(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  float *v[3];
  size_t len[3];
  if (!arguments(env, info, 3, argv, "reluGrad(dy, x, out)") || !float_arrays(env, argv, 3, v, len)) return NULL;
  if (len[1] != len[0] || len[2] != len[0]) {
    napi_throw_range_error(env, NULL, "reluGrad: dy, x and out differ in length");
    return NULL;
  }
  pass j = {{v[0], v[1], v[2]}, 0};
  lp_parallel_for(len[0], GRAIN, relu_grad_range, &j);
  return NULL;
}

static void relu_range(void *ctx, size_t lo, size_t hi) {
  const pass *j = ctx;
  const float *restrict x = j->v[0];
  float *restrict out = j->v[1];
  for (size_t i = lo; i < hi; i++) out[i] = x[i] > 0 ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
}

napi_value relu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  float *v[2];
  size_t len[2];
  if (!arguments(env, info, 2, argv, "relu(x, out)") || !float_arrays(env, argv, 2, v, len)) return NULL;
  if (len[1] != len[0]) {
    napi_throw_range_error(env, NULL, "relu: x and out differ in length");
    return NULL;
  }
  pass j = {{v[0], v[1], NULL}, 0};
  lp_parallel_for(len[0], GRAIN, relu_range, &j);
  return NULL;
}
