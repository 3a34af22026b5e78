/*
 * Float64 linear algebra of the native BLAS addon (addon.c), for GLAI's
 * sufficient statistics (ml/glai/statistics.ts):
 *
 *   gramAccumulate(a, b, phi, y, n, d, c)
 *     a[d,d] += phiᵀ·phi and b[d,c] += phiᵀ·y in float64 (row-major), phi [n,d]
 *     and y [n,c] float32. Products of float32 values are exact in float64, so
 *     the sums round only at float64 precision. a stays symmetric (both halves).
 *   spdSolve(a, b, d, c)
 *     solves a·x = b for symmetric positive definite a[d,d] by Cholesky (LAPACK
 *     dposv), overwriting b[d,c] with x and a with its factor; returns LAPACK's
 *     info (0: solved, > 0: a is not positive definite).
 */
#include <cblas.h>
#include <stdlib.h>
#include "napi-args.h"

void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b, const int *ldb, int *info);

static bool float64_array(napi_env env, napi_value v, double **data, size_t *length, const char *what) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is || napi_get_typedarray_info(env, v, &type, length, (void **)data, NULL, NULL) != napi_ok ||
      type != napi_float64_array) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: expected a Float64Array", what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

static double *widen(const float *src, size_t count) {
  double *out = malloc(count * sizeof(double));
  if (out)
    for (size_t i = 0; i < count; i++) out[i] = src[i];
  return out;
}

napi_value gram_accumulate(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  double *a, *b;
  float *phi, *y;
  size_t alen, blen, philen, ylen;
  int64_t n, d, c;
  if (!arguments(env, info, 7, argv, "gramAccumulate(a, b, phi, y, n, d, c)") || !float64_array(env, argv[0], &a, &alen, "a") ||
      !float64_array(env, argv[1], &b, &blen, "b") || !typed_array(env, argv[2], napi_float32_array, (void **)&phi, &philen, "phi") ||
      !typed_array(env, argv[3], napi_float32_array, (void **)&y, &ylen, "y") || !non_negative(env, argv[4], &n, "n") ||
      !non_negative(env, argv[5], &d, "d") || !non_negative(env, argv[6], &c, "c")) {
    return NULL;
  }
  if (alen != (size_t)(d * d) || blen != (size_t)(d * c) || philen < (size_t)(n * d) || ylen < (size_t)(n * c)) {
    napi_throw_range_error(env, NULL, "gramAccumulate: a must be d×d, b d×c, phi n×d, y n×c");
    return NULL;
  }
  if (n == 0 || d == 0) return NULL;
  double *p = widen(phi, (size_t)(n * d)), *yy = widen(y, (size_t)(n * c));
  if (!p || !yy) {
    free(p);
    free(yy);
    napi_throw_error(env, NULL, "gramAccumulate: out of memory");
    return NULL;
  }
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0, p, (int)d, 1.0, a, (int)d);
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = i + 1; j < d; j++) a[j * d + i] = a[i * d + j];
  if (c > 0) cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)c, (int)n, 1.0, p, (int)d, yy, (int)c, 1.0, b, (int)c);
  free(p);
  free(yy);
  return NULL;
}

napi_value spd_solve(napi_env env, napi_callback_info info) {
  napi_value argv[4], result;
  double *a, *b;
  size_t alen, blen;
  int64_t d, c;
  if (!arguments(env, info, 4, argv, "spdSolve(a, b, d, c)") || !float64_array(env, argv[0], &a, &alen, "a") ||
      !float64_array(env, argv[1], &b, &blen, "b") || !non_negative(env, argv[2], &d, "d") || !non_negative(env, argv[3], &c, "c")) {
    return NULL;
  }
  if (alen != (size_t)(d * d) || blen != (size_t)(d * c)) {
    napi_throw_range_error(env, NULL, "spdSolve: a must be d×d and b d×c");
    return NULL;
  }
  /* LAPACK is column-major: a is symmetric, b row-major [d,c] is bt column-major [d,c] after a transpose. */
  double *bt = malloc((size_t)(d * c) * sizeof(double));
  if (!bt) {
    napi_throw_error(env, NULL, "spdSolve: out of memory");
    return NULL;
  }
  for (int64_t i = 0; i < d; i++)
    for (int64_t k = 0; k < c; k++) bt[k * d + i] = b[i * c + k];
  const int n = (int)d, nrhs = (int)c;
  int status = 0;
  dposv_("U", &n, &nrhs, a, &n, bt, &n, &status);
  if (status == 0)
    for (int64_t i = 0; i < d; i++)
      for (int64_t k = 0; k < c; k++) b[i * c + k] = bt[k * d + i];
  free(bt);
  if (napi_create_int32(env, status, &result) != napi_ok) return NULL;
  return result;
}
