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
 *   biasRelu(x, bias)        x = relu(x + bias) in place: biasAdd then relu
 *                            in one pass, their bits
 *   reluGradSum(dy, y, dz, db)
 *                            dz = dy · step(y) and db its sums over the rows
 *                            (sumMiddle's order) in one pass: a ReLU layer's
 *                            gradient and its bias gradient, from the layer's
 *                            output y (step(y) = step of ReLU's input for every
 *                            input, NaN and signed zeros included)
 *
 * All but the sums share their elements among the product threads
 * (lp_parallel_for); elements are independent, so that changes no bit.
 * sumMiddle and reluGradSum run on one thread: their summation order is fixed.
 * (Columns shared among threads in blocks of a cache line were measured
 * slower: a CNN's 32 or 64 channels make each thread stream every row.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
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

CLONES static void bias_rows(void *ctx, size_t lo, size_t hi) {
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

/* acc[i] += Σ_m x[m, i] over `mid` rows of `in`: four rows at a time, pairwise, in float64 (wasm-kernels/layout.ts's order). */
static inline void sum_rows(const float *restrict x, size_t in, size_t mid, double *restrict acc) {
  size_t m = 0;
  for (; m + 4 <= mid; m += 4, x += 4 * in) {
    const float *restrict x1 = x + in, *restrict x2 = x + 2 * in, *restrict x3 = x + 3 * in;
    for (size_t i = 0; i < in; i++) acc[i] = acc[i] + (((double)x[i] + (double)x1[i]) + ((double)x2[i] + (double)x3[i]));
  }
  for (; m < mid; m++, x += in)
    for (size_t i = 0; i < in; i++) acc[i] = acc[i] + (double)x[i];
}

/* dz = dy · step(y) over n values (vectorized: no branches). */
static inline void relu_grad_values(const float *restrict dy, const float *restrict y, float *restrict dz, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float step = y[i] > 0 ? 1.0f : (y[i] != y[i] ? NAN : 0.0f);
    dz[i] = dy[i] * step;
  }
}

/* sum_rows over dz = dy · step(y), each group of four rows made just before it is summed: a ReLU layer's gradient and its bias gradient in one pass. */
CLONES static void grad_sum_rows(const float *restrict dy, const float *restrict y, float *restrict dz, size_t in, size_t mid, double *restrict acc) {
  size_t m = 0;
  for (; m + 4 <= mid; m += 4, dy += 4 * in, y += 4 * in, dz += 4 * in) {
    relu_grad_values(dy, y, dz, 4 * in);
    sum_rows(dz, in, 4, acc);
  }
  relu_grad_values(dy, y, dz, (mid - m) * in);
  sum_rows(dz, in, mid - m, acc);
}

/* out[o, i] = Σ_m x[o, m, i] for each of `outer` slices, through acc (inner doubles). */
CLONES static void sum_outer(const float *restrict x, float *restrict out, size_t outer, size_t mid, size_t inner, double *restrict acc) {
  for (size_t o = 0; o < outer; o++) {
    memset(acc, 0, inner * sizeof(double));
    sum_rows(x + o * mid * inner, inner, mid, acc);
    for (size_t i = 0; i < inner; i++) out[o * inner + i] = (float)acc[i];
  }
}

/* A float64 accumulator of n values, zeroed; throws and returns NULL when out of memory. */
static double *accumulator(napi_env env, size_t n, const char *what) {
  double *acc = calloc(n + 1, sizeof(double));
  if (!acc) napi_throw_error(env, NULL, what);
  return acc;
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
  double *acc = accumulator(env, i_n, "sumMiddle: out of memory");
  if (!acc) return NULL;
  sum_outer(v[0], v[1], o_n, m_n, i_n, acc);
  free(acc);
  return NULL;
}

CLONES static void relu_grad_range(void *ctx, size_t lo, size_t hi) {
  const pass *j = ctx;
  relu_grad_values(j->v[0] + lo, j->v[1] + lo, j->v[2] + lo, hi - lo);
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

CLONES static void relu_range(void *ctx, size_t lo, size_t hi) {
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

napi_value relu_grad_sum(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  float *v[4];
  size_t len[4];
  if (!arguments(env, info, 4, argv, "reluGradSum(dy, y, dz, db)") || !float_arrays(env, argv, 4, v, len)) return NULL;
  if (len[1] != len[0] || len[2] != len[0] || len[3] == 0 || len[0] % len[3] != 0) {
    napi_throw_range_error(env, NULL, "reluGradSum: dy, y and dz of one length, a multiple of db's");
    return NULL;
  }
  double *acc = accumulator(env, len[3], "reluGradSum: out of memory");
  if (!acc) return NULL;
  grad_sum_rows(v[0], v[1], v[2], len[3], len[0] / len[3], acc);
  for (size_t i = 0; i < len[3]; i++) v[3][i] = (float)acc[i];
  free(acc);
  return NULL;
}

CLONES static void bias_relu_rows(void *ctx, size_t lo, size_t hi) {
  const pass *j = ctx;
  for (size_t r = lo; r < hi; r++) lp_bias_relu_row(j->v[0] + r * j->n, j->v[1], j->n);
}

/* x = relu(x + bias) in place over `rows` rows of n, on the product threads (conv.c's convolution with bias and ReLU uses it too). */
void lp_bias_relu(float *x, size_t rows, const float *bias, size_t n) {
  pass j = {{x, (float *)bias, NULL}, n};
  lp_parallel_for(rows, GRAIN / n + 1, bias_relu_rows, &j);
}

napi_value bias_relu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  float *v[2];
  size_t len[2];
  if (!arguments(env, info, 2, argv, "biasRelu(x, bias)") || !float_arrays(env, argv, 2, v, len)) return NULL;
  if (len[1] == 0 || len[0] % len[1] != 0) {
    napi_throw_range_error(env, NULL, "biasRelu: x's length must be a multiple of bias's");
    return NULL;
  }
  lp_bias_relu(v[0], len[0] / len[1], v[1], len[1]);
  return NULL;
}
