/*
 * Matrix products of the native BLAS addon (addon.c):
 *
 *   sgemm(transA, transB, m, n, k, a, b, c, aIndex, bIndex)
 *     c[i] = op(a[aIndex[i]]) · op(b[bIndex[i]]) for every i < aIndex.length,
 *     row-major; a's batch elements are [m,k] ([k,m] when transposed), b's
 *     [k,n] ([n,k]), c's [m,n]. The index arrays carry batch broadcasting.
 *   epilogue(c, n, bias, activation, alpha)
 *     in place over c viewed as rows of n: c = act(c + bias), bias null, of
 *     length n (one value per column) or 1; activation 0 linear, 1 relu,
 *     2 relu6, 3 leakyrelu (alpha), 4 elu, 5 sigmoid.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "napi-args.h"

/* True when every index is in [0, count); throws otherwise. */
static bool indices_in(napi_env env, const int32_t *idx, size_t n, size_t count, const char *what) {
  for (size_t i = 0; i < n; i++) {
    if (idx[i] < 0 || (size_t)idx[i] >= count) {
      char msg[96];
      snprintf(msg, sizeof msg, "%s[%zu] = %d is outside the operand's %zu batch elements", what, i, idx[i], count);
      napi_throw_range_error(env, NULL, msg);
      return false;
    }
  }
  return true;
}

napi_value sgemm(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  bool ta, tb;
  int64_t m, n, k;
  float *a, *b, *c;
  int32_t *ai, *bi;
  size_t alen, blen, clen, batch, blen_idx;
  if (!arguments(env, info, 10, argv, "sgemm(transA, transB, m, n, k, a, b, c, aIndex, bIndex)") || !flag(env, argv[0], &ta) ||
      !flag(env, argv[1], &tb) || !non_negative(env, argv[2], &m, "m") || !non_negative(env, argv[3], &n, "n") ||
      !non_negative(env, argv[4], &k, "k") || !typed_array(env, argv[5], napi_float32_array, (void **)&a, &alen, "a") ||
      !typed_array(env, argv[6], napi_float32_array, (void **)&b, &blen, "b") ||
      !typed_array(env, argv[7], napi_float32_array, (void **)&c, &clen, "c") ||
      !typed_array(env, argv[8], napi_int32_array, (void **)&ai, &batch, "aIndex") ||
      !typed_array(env, argv[9], napi_int32_array, (void **)&bi, &blen_idx, "bIndex")) {
    return NULL;
  }
  size_t as = (size_t)m * (size_t)k, bs = (size_t)k * (size_t)n, cs = (size_t)m * (size_t)n;
  if (blen_idx != batch) {
    napi_throw_range_error(env, NULL, "aIndex and bIndex differ in length");
    return NULL;
  }
  if (clen < batch * cs) {
    napi_throw_range_error(env, NULL, "c is smaller than the product");
    return NULL;
  }
  if (cs == 0) return NULL;
  if (k == 0) {
    memset(c, 0, batch * cs * sizeof(float));
    return NULL;
  }
  if (!indices_in(env, ai, batch, alen / as, "aIndex") || !indices_in(env, bi, batch, blen / bs, "bIndex")) return NULL;
  const int lda = ta ? (int)m : (int)k;
  const int ldb = tb ? (int)k : (int)n;
  for (size_t i = 0; i < batch; i++) {
    lp_sgemm(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, a + (size_t)ai[i] * as, lda, b + (size_t)bi[i] * bs, ldb, 0.0f,
             c + i * cs, (int)n);
  }
  return NULL;
}

enum { LINEAR, RELU, RELU6, LEAKYRELU, ELU, SIGMOID };

static inline float activate(float v, int activation, float alpha) {
  switch (activation) {
    case RELU: return v < 0 ? 0 : v;
    case RELU6: return v < 0 ? 0 : (v > 6 ? 6 : v);
    case LEAKYRELU: return v < 0 ? alpha * v : v;
    case ELU: return v >= 0 ? v : expf(v) - 1;
    case SIGMOID: return 1 / (1 + expf(-v));
    default: return v;
  }
}

napi_value epilogue(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  float *c, *bias = NULL;
  size_t clen, biaslen = 0;
  int64_t n, activation;
  double alpha;
  if (!arguments(env, info, 5, argv, "epilogue(c, n, bias, activation, alpha)") ||
      !typed_array(env, argv[0], napi_float32_array, (void **)&c, &clen, "c") || !non_negative(env, argv[1], &n, "n") ||
      (!is_null(env, argv[2]) && !typed_array(env, argv[2], napi_float32_array, (void **)&bias, &biaslen, "bias")) ||
      !non_negative(env, argv[3], &activation, "activation")) {
    return NULL;
  }
  if (napi_get_value_double(env, argv[4], &alpha) != napi_ok) {
    napi_throw_type_error(env, NULL, "alpha: expected a number");
    return NULL;
  }
  if (activation > SIGMOID || n == 0 || clen % (size_t)n != 0 || (bias && biaslen != (size_t)n && biaslen != 1)) {
    napi_throw_range_error(env, NULL, "epilogue: bias must have n or 1 values, c whole rows of n, activation 0-5");
    return NULL;
  }
  const size_t rows = clen / (size_t)n;
  const size_t step = biaslen == 1 ? 0 : 1;
  for (size_t r = 0; r < rows; r++) {
    float *row = c + r * (size_t)n;
    for (size_t j = 0; j < (size_t)n; j++) row[j] = activate(bias ? row[j] + bias[j * step] : row[j], (int)activation, (float)alpha);
  }
  return NULL;
}
