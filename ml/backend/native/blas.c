/*
 * lightpath's optional native BLAS provider: an N-API addon over OpenBLAS's
 * cblas_sgemm, called by the wasm backend's matmul kernels on float32 views of
 * the wasm heap (ml/backend/native/matmul.ts). Built by scripts/build-native.ts.
 *
 * Exports:
 *   sgemm(transA, transB, m, n, k, a, b, c, aIndex, bIndex)
 *     c[i] = op(a[aIndex[i]]) · op(b[bIndex[i]]) for every i < aIndex.length,
 *     row-major; a's batch elements are [m,k] ([k,m] when transposed), b's
 *     [k,n] ([n,k]), c's [m,n]. The index arrays carry batch broadcasting.
 *   epilogue(c, n, bias, activation, alpha)
 *     in place over c viewed as rows of n: c = act(c + bias), bias null, of
 *     length n (one value per column) or 1; activation 0 linear, 1 relu,
 *     2 relu6, 3 leakyrelu (alpha), 4 elu, 5 sigmoid.
 *   setThreads(n), info() → { config, corename, threads }.
 *
 * The module keeps no state of its own (OpenBLAS's thread count is process
 * wide), so it is safe to load in several worker threads; NAPI_MODULE_INIT makes
 * it context-aware.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_ARGS 10

static bool typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length, const char *what) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok || type != want) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: expected a %s", what, want == napi_float32_array ? "Float32Array" : "Int32Array");
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

static bool non_negative(napi_env env, napi_value v, int64_t *out, const char *what) {
  if (napi_get_value_int64(env, v, out) != napi_ok || *out < 0 || *out > INT32_MAX) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: expected an integer in [0, 2^31)", what);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  return true;
}

static bool flag(napi_env env, napi_value v, bool *out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a boolean");
    return false;
  }
  return true;
}

static bool is_null(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

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

static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = MAX_ARGS;
  napi_value argv[MAX_ARGS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 10) {
    napi_throw_type_error(env, NULL, "sgemm(transA, transB, m, n, k, a, b, c, aIndex, bIndex)");
    return NULL;
  }
  bool ta, tb;
  int64_t m, n, k;
  float *a, *b, *c;
  int32_t *ai, *bi;
  size_t alen, blen, clen, batch, blen_idx;
  if (!flag(env, argv[0], &ta) || !flag(env, argv[1], &tb) || !non_negative(env, argv[2], &m, "m") ||
      !non_negative(env, argv[3], &n, "n") || !non_negative(env, argv[4], &k, "k") ||
      !typed_array(env, argv[5], napi_float32_array, (void **)&a, &alen, "a") ||
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
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f,
                a + (size_t)ai[i] * as, lda, b + (size_t)bi[i] * bs, ldb, 0.0f, c + i * cs, (int)n);
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

static napi_value epilogue(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 5) {
    napi_throw_type_error(env, NULL, "epilogue(c, n, bias, activation, alpha)");
    return NULL;
  }
  float *c, *bias = NULL;
  size_t clen, biaslen = 0;
  int64_t n, activation;
  double alpha;
  if (!typed_array(env, argv[0], napi_float32_array, (void **)&c, &clen, "c") || !non_negative(env, argv[1], &n, "n") ||
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

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || !non_negative(env, argv[0], &n, "threads")) return NULL;
  if (n < 1) {
    napi_throw_range_error(env, NULL, "threads: at least 1");
    return NULL;
  }
  openblas_set_num_threads((int)n);
  return NULL;
}

static napi_value get_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, config, corename, threads;
  if (napi_create_object(env, &out) != napi_ok ||
      napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config) != napi_ok ||
      napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &corename) != napi_ok ||
      napi_create_int32(env, openblas_get_num_threads(), &threads) != napi_ok ||
      napi_set_named_property(env, out, "config", config) != napi_ok ||
      napi_set_named_property(env, out, "corename", corename) != napi_ok ||
      napi_set_named_property(env, out, "threads", threads) != napi_ok) {
    return NULL;
  }
  return out;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"epilogue", NULL, epilogue, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, get_info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
