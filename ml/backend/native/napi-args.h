/*
 * Argument checks shared by the native BLAS addon's functions (they throw a
 * JavaScript TypeError/RangeError and return false), and the functions each
 * source file exports to addon.c.
 */
#ifndef LIGHTPATH_NAPI_ARGS_H
#define LIGHTPATH_NAPI_ARGS_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static inline bool typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length, const char *what) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok || type != want) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: expected a %s", what, want == napi_float32_array ? "Float32Array" : want == napi_float64_array ? "Float64Array" : "Int32Array");
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

static inline bool non_negative(napi_env env, napi_value v, int64_t *out, const char *what) {
  if (napi_get_value_int64(env, v, out) != napi_ok || *out < 0 || *out > INT32_MAX) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: expected an integer in [0, 2^31)", what);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  return true;
}

static inline bool flag(napi_env env, napi_value v, bool *out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a boolean");
    return false;
  }
  return true;
}

static inline bool is_null(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

/* Reads exactly `want` arguments into argv; throws with `usage` otherwise. */
static inline bool arguments(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc != want) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

/* parallel.c: sgemm with alpha 1 on lp_set_threads(n) threads, bits independent of n. */
#include <cblas.h>
void lp_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void lp_set_threads(int n);
int lp_get_threads(void);
/* parallel.c: the library behind the float32 products ("oneDNN x.y.z" or "OpenBLAS"). */
const char *lp_products(void);

/*
 * A hot loop compiled for AVX-512, AVX2 and the baseline, the CPU picking at load
 * (GCC's target_clones; x86-64 only). The addon is built with -ffp-contract=off,
 * so no clone fuses a multiply and an add: every clone gives the same bits.
 */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

/* x = relu(x + bias) over one row of n values, NaN kept, -0 made 0 (the cpu backend's Add then Relu); inlined into each caller's clones. */
static inline void lp_bias_relu_row(float *restrict x, const float *restrict bias, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float z = x[i] + bias[i];
    x[i] = z > 0 ? z : (z != z ? z : 0.0f);
  }
}

/* parallel.c: fn(ctx, lo, hi) over [0, n) on the same threads, ranges of at least `grain` items. */
typedef void (*lp_range_fn)(void *ctx, size_t lo, size_t hi);
void lp_parallel_for(size_t n, size_t grain, lp_range_fn fn, void *ctx);

/* bias.c: x = relu(x + bias) in place over `rows` rows of n, on the same threads. */
void lp_bias_relu(float *x, size_t rows, const float *bias, size_t n);

napi_value sgemm(napi_env env, napi_callback_info info);
napi_value epilogue(napi_env env, napi_callback_info info);
napi_value conv2d(napi_env env, napi_callback_info info);
napi_value conv2d_bias_relu(napi_env env, napi_callback_info info);
napi_value gated_gram(napi_env env, napi_callback_info info);
napi_value bilinear_form(napi_env env, napi_callback_info info);
napi_value spd_solve_factored(napi_env env, napi_callback_info info);
napi_value spd_solve(napi_env env, napi_callback_info info);
napi_value adamw(napi_env env, napi_callback_info info);
napi_value sgd_momentum(napi_env env, napi_callback_info info);
napi_value max_pool(napi_env env, napi_callback_info info);
napi_value max_pool_grad(napi_env env, napi_callback_info info);
napi_value bias_add(napi_env env, napi_callback_info info);
napi_value sum_middle(napi_env env, napi_callback_info info);
napi_value relu_grad(napi_env env, napi_callback_info info);
napi_value relu(napi_env env, napi_callback_info info);
napi_value bias_relu(napi_env env, napi_callback_info info);
napi_value relu_grad_sum(napi_env env, napi_callback_info info);
napi_value pair_hamming(napi_env env, napi_callback_info info);

#endif
