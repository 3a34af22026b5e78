/*
 * Float64 linear algebra of the native BLAS addon (addon.c), for GLAI's
 * sufficient statistics (ml/glai/statistics.ts):
 *
 *   gatedGram(a, b, value, gate, y, n, nv, ng, c)
 *     a[d,d] += ΦᵀΦ and b[d,c] += Φᵀy in float64 (row-major) for the gated
 *     features Φ[r, i·ng+j] = value[r,i]·gate[r,j] (d = nv·ng), given the
 *     factors: value [n,nv], gate [n,ng] (entries 0 or 1) and y [n,c] float32.
 *     Φ is never formed. A block of A for gates (j, j') sums value·valueᵀ over
 *     the rows where both gates are on, so each gate pair is one small dsyrk over
 *     about a quarter of the rows: ~8× fewer multiply-adds than a dense syrk of Φ
 *     when half the gates are on. Gate pairs run on the addon's threads; each
 *     block is one single-threaded call over its rows in order, so the bits do
 *     not depend on the thread count. Products of float32 values are exact in
 *     float64, so the sums round only at float64 precision. a stays symmetric.
 *   bilinearForm(a, u, v, d, c)
 *     tr(uᵀ·a·v) for symmetric a[d,d] and u, v [d,c] (the validation error's,
 *     its slope's and the prior scale's terms, ml/glai/solve.ts).
 *   spdSolve(a, b, d, c)
 *     solves a·x = b for symmetric positive definite a[d,d] by Cholesky (blocked
 *     on the addon's threads, `cholesky` below, then LAPACK dpotrs), overwriting
 *     b[d,c] with x and a with its factor; returns LAPACK's info (0: solved,
 *     > 0: a is not positive definite).
 *   spdSolveFactored(factor, b, d, c)
 *     solves again with the factor spdSolve left in a (LAPACK dpotrs).
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include "napi-args.h"

void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda, double *b, const int *ldb, int *info);

/* One worker's view of gatedGram: the inputs, the on-lists of the gates, and the gate pairs. */
typedef struct {
  double *a, *b;
  const double *value; /* value widened to float64, [n, nv] */
  const float *y;
  const unsigned char *on; /* on[j * n + r]: gate j is on for row r */
  int64_t n, nv, ng, c;
  int failed;
} gram_job;

/* Pair index p → (j, j') with j ≤ j', in the order (0,0), (0,1), …, (0,ng−1), (1,1), … */
static void pair_of(int64_t p, int64_t ng, int64_t *j, int64_t *k) {
  int64_t row = 0;
  while (p >= ng - row) p -= ng - row++;
  *j = row;
  *k = row + p;
}

/* The blocks of the gate pairs [lo, hi): M = XᵀX over the rows where both gates are on, added at (i·ng+j, i'·ng+j') and its mirror; B on the diagonal pairs. */
static void gram_pairs(void *ctx, size_t lo, size_t hi) {
  gram_job *g = ctx;
  const int64_t n = g->n, nv = g->nv, ng = g->ng, c = g->c, d = nv * ng;
  double *x = malloc((size_t)(n * nv) * sizeof(double)), *m = malloc((size_t)(nv * nv) * sizeof(double));
  double *yy = c > 0 ? malloc((size_t)(n * c) * sizeof(double)) : NULL, *mb = c > 0 ? malloc((size_t)(nv * c) * sizeof(double)) : NULL;
  if (!x || !m || (c > 0 && (!yy || !mb))) {
    g->failed = 1;
    hi = lo;
  }
  for (size_t p = lo; p < hi; p++) {
    int64_t j, k, rows = 0;
    pair_of((int64_t)p, ng, &j, &k);
    for (int64_t r = 0; r < n; r++) {
      if (!g->on[j * n + r] || !g->on[k * n + r]) continue;
      memcpy(x + rows * nv, g->value + r * nv, (size_t)nv * sizeof(double));
      if (j == k)
        for (int64_t t = 0; t < c; t++) yy[rows * c + t] = g->y[r * c + t];
      rows++;
    }
    if (rows == 0) continue;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)nv, (int)rows, 1.0, x, (int)nv, 0.0, m, (int)nv);
    for (int64_t i = 0; i < nv; i++)
      for (int64_t t = 0; t < nv; t++) {
        const double v = t >= i ? m[i * nv + t] : m[t * nv + i];
        g->a[(i * ng + j) * d + t * ng + k] += v;
        if (j != k) g->a[(t * ng + k) * d + i * ng + j] += v;
      }
    if (j != k || c == 0) continue;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nv, (int)c, (int)rows, 1.0, x, (int)nv, yy, (int)c, 0.0, mb, (int)c);
    for (int64_t i = 0; i < nv; i++)
      for (int64_t t = 0; t < c; t++) g->b[(i * ng + j) * c + t] += mb[i * c + t];
  }
  free(x);
  free(m);
  free(yy);
  free(mb);
}

napi_value gated_gram(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  double *a, *b;
  float *value, *gate, *y;
  size_t alen, blen, vlen, glen, ylen;
  int64_t n, nv, ng, c;
  if (!arguments(env, info, 9, argv, "gatedGram(a, b, value, gate, y, n, nv, ng, c)") || !typed_array(env, argv[0], napi_float64_array, (void **)&a, &alen, "a") ||
      !typed_array(env, argv[1], napi_float64_array, (void **)&b, &blen, "b") || !typed_array(env, argv[2], napi_float32_array, (void **)&value, &vlen, "value") ||
      !typed_array(env, argv[3], napi_float32_array, (void **)&gate, &glen, "gate") ||
      !typed_array(env, argv[4], napi_float32_array, (void **)&y, &ylen, "y") || !non_negative(env, argv[5], &n, "n") ||
      !non_negative(env, argv[6], &nv, "nv") || !non_negative(env, argv[7], &ng, "ng") || !non_negative(env, argv[8], &c, "c")) {
    return NULL;
  }
  const int64_t d = nv * ng;
  if (alen != (size_t)(d * d) || blen != (size_t)(d * c) || vlen < (size_t)(n * nv) || glen < (size_t)(n * ng) || ylen < (size_t)(n * c)) {
    napi_throw_range_error(env, NULL, "gatedGram: a must be d×d and b d×c (d = nv·ng), value n×nv, gate n×ng, y n×c");
    return NULL;
  }
  if (n == 0 || d == 0) return NULL;
  unsigned char *on = malloc((size_t)(n * ng));
  double *wide = malloc((size_t)(n * nv) * sizeof(double));
  if (!on || !wide) {
    free(on);
    free(wide);
    napi_throw_error(env, NULL, "gatedGram: out of memory");
    return NULL;
  }
  for (int64_t r = 0; r < n; r++)
    for (int64_t j = 0; j < ng; j++) {
      const float v = gate[r * ng + j];
      if (v != 0.0f && v != 1.0f) {
        free(on);
        free(wide);
        napi_throw_range_error(env, NULL, "gatedGram: gate entries must be 0 or 1");
        return NULL;
      }
      on[j * n + r] = v == 1.0f;
    }
  for (int64_t i = 0; i < n * nv; i++) wide[i] = value[i];
  gram_job job = {.a = a, .b = b, .value = wide, .y = y, .on = on, .n = n, .nv = nv, .ng = ng, .c = c};
  lp_parallel_for((size_t)(ng * (ng + 1) / 2), 1, gram_pairs, &job);
  free(on);
  free(wide);
  if (job.failed) napi_throw_error(env, NULL, "gatedGram: out of memory");
  return NULL;
}

/* tr(UᵀAV) for symmetric a[d,d] and u, v [d,c] (row-major), by one dsymm. */
napi_value bilinear_form(napi_env env, napi_callback_info info) {
  napi_value argv[5], result;
  double *a, *u, *v;
  size_t alen, ulen, vlen;
  int64_t d, c;
  if (!arguments(env, info, 5, argv, "bilinearForm(a, u, v, d, c)") || !typed_array(env, argv[0], napi_float64_array, (void **)&a, &alen, "a") ||
      !typed_array(env, argv[1], napi_float64_array, (void **)&u, &ulen, "u") || !typed_array(env, argv[2], napi_float64_array, (void **)&v, &vlen, "v") || !non_negative(env, argv[3], &d, "d") ||
      !non_negative(env, argv[4], &c, "c")) {
    return NULL;
  }
  if (alen != (size_t)(d * d) || ulen != (size_t)(d * c) || vlen != (size_t)(d * c)) {
    napi_throw_range_error(env, NULL, "bilinearForm: a must be d×d, u and v d×c");
    return NULL;
  }
  double *av = malloc((size_t)(d * c + 1) * sizeof(double)), sum = 0;
  if (!av) {
    napi_throw_error(env, NULL, "bilinearForm: out of memory");
    return NULL;
  }
  if (d > 0 && c > 0) cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, (int)d, (int)c, 1.0, a, (int)d, v, (int)c, 0.0, av, (int)c);
  for (int64_t i = 0; i < d * c; i++) sum += u[i] * av[i];
  free(av);
  if (napi_create_double(env, sum, &result) != napi_ok) return NULL;
  return result;
}

/*
 * Blocked Cholesky A = UᵀU (column-major, upper: LAPACK's dpotrf "U") on the addon's
 * threads. Per block column k of width NB: dpotrf of the diagonal block, then the
 * row panel right of it (U_kkᵀ·X = A_kj, one dtrsm per block) and the trailing
 * update A_ij −= U_kiᵀ·U_kj (i ≤ j, one dsyrk or dgemm per tile), each spread over
 * the threads block by block. Every block is one single-threaded call on fixed
 * block boundaries, so the factor's bits do not depend on the thread count.
 */
#define NB 256

typedef struct {
  double *a;
  int n, k, kb; /* the matrix, the current block column's start and width */
} chol_step;

static int blocks_after(const chol_step *s) { return (s->n - s->k - s->kb + NB - 1) / NB; }

static void panel_blocks(void *ctx, size_t lo, size_t hi) {
  const chol_step *s = ctx;
  for (size_t t = lo; t < hi; t++) {
    const int j = s->k + s->kb + (int)t * NB, w = s->n - j < NB ? s->n - j : NB;
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, s->kb, w, 1.0, s->a + (size_t)s->k * s->n + s->k, s->n,
                s->a + (size_t)j * s->n + s->k, s->n);
  }
}

/* Tile t of the trailing update's upper triangle of tiles, in row order (i ≤ j). */
static void trailing_tiles(void *ctx, size_t lo, size_t hi) {
  const chol_step *s = ctx;
  const int m = blocks_after(s);
  for (size_t t = lo; t < hi; t++) {
    int bi = 0, rest = (int)t;
    while (rest >= m - bi) rest -= m - bi++;
    const int bj = bi + rest, i = s->k + s->kb + bi * NB, j = s->k + s->kb + bj * NB;
    const int wi = s->n - i < NB ? s->n - i : NB, wj = s->n - j < NB ? s->n - j : NB;
    const double *ui = s->a + (size_t)i * s->n + s->k, *uj = s->a + (size_t)j * s->n + s->k;
    double *c = s->a + (size_t)j * s->n + i;
    if (bi == bj)
      cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, wi, s->kb, -1.0, ui, s->n, 1.0, c, s->n);
    else
      cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, wi, wj, s->kb, -1.0, ui, s->n, uj, s->n, 1.0, c, s->n);
  }
}

/* Factors a[n,n] (symmetric, either layout) in place; LAPACK's info (0, or the order of a minor that is not positive definite). */
static int cholesky(double *a, int n) {
  for (int k = 0; k < n; k += NB) {
    chol_step s = {.a = a, .n = n, .k = k, .kb = n - k < NB ? n - k : NB};
    int info = 0;
    dpotrf_("U", &s.kb, a + (size_t)k * n + k, &n, &info);
    if (info != 0) return k + info;
    const int m = blocks_after(&s);
    if (m == 0) break;
    lp_parallel_for((size_t)m, 1, panel_blocks, &s);
    lp_parallel_for((size_t)m * (m + 1) / 2, 1, trailing_tiles, &s);
  }
  return 0;
}

/* LAPACK is column-major: a is symmetric, so only b moves. Row-major b[d,c] ↔ column-major bt[d,c]. */
static void to_columns(const double *b, double *bt, int64_t d, int64_t c) {
  for (int64_t i = 0; i < d; i++)
    for (int64_t k = 0; k < c; k++) bt[k * d + i] = b[i * c + k];
}

static void to_rows(const double *bt, double *b, int64_t d, int64_t c) {
  for (int64_t i = 0; i < d; i++)
    for (int64_t k = 0; k < c; k++) b[i * c + k] = bt[k * d + i];
}

/* spdSolve (factored = false: `cholesky`, a becomes its factor, then dpotrs) or spdSolveFactored (factored = true: dpotrs with a, a factor from spdSolve). */
static napi_value spd(napi_env env, napi_callback_info info, bool factored) {
  napi_value argv[4], result;
  double *a, *b;
  size_t alen, blen;
  int64_t d, c;
  const char *name = factored ? "spdSolveFactored(factor, b, d, c)" : "spdSolve(a, b, d, c)";
  if (!arguments(env, info, 4, argv, name) || !typed_array(env, argv[0], napi_float64_array, (void **)&a, &alen, "a") || !typed_array(env, argv[1], napi_float64_array, (void **)&b, &blen, "b") ||
      !non_negative(env, argv[2], &d, "d") || !non_negative(env, argv[3], &c, "c")) {
    return NULL;
  }
  if (alen != (size_t)(d * d) || blen != (size_t)(d * c)) {
    napi_throw_range_error(env, NULL, "spdSolve: a must be d×d and b d×c");
    return NULL;
  }
  double *bt = malloc((size_t)(d * c + 1) * sizeof(double));
  if (!bt) {
    napi_throw_error(env, NULL, "spdSolve: out of memory");
    return NULL;
  }
  to_columns(b, bt, d, c);
  const int n = (int)d, nrhs = (int)c;
  int status = 0;
  if (!factored) status = cholesky(a, n);
  if (status == 0) dpotrs_("U", &n, &nrhs, a, &n, bt, &n, &status);
  if (status == 0) to_rows(bt, b, d, c);
  free(bt);
  if (napi_create_int32(env, status, &result) != napi_ok) return NULL;
  return result;
}

napi_value spd_solve(napi_env env, napi_callback_info info) { return spd(env, info, false); }
napi_value spd_solve_factored(napi_env env, napi_callback_info info) { return spd(env, info, true); }
