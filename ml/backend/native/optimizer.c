/*
 * Fused optimizer updates of the native addon (addon.c), one call per step over
 * all variables (update.ts here, for ml/train/optimizer.ts):
 *
 *   adamw(tensors, params)
 *     tensors: per variable [w, g, m, v, w'] (Float32Arrays of one size); m
 *     and v are updated in place, the new weights written to w' (a separate
 *     array: the wasm backend's XNNPACK kernels keep weights packed per
 *     tensor, see update.ts); params: Float64Array [lr, wd, mode, b1, 1−b1, b2,
 *     1−b2, c1, c2, eps], mode 0 no decay, 1 coupled (g += wd·w), 2 decoupled
 *     (update += wd·w).
 *   sgdMomentum(tensors, params)
 *     tensors: per variable [w, g, b, w'], b updated in place, the new weights
 *     written to w'; params: [lr, wd, mode, mu].
 *
 * A step streams each array through the cache once; the slots, updated in
 * place, cost no write-allocate reads and no allocations.
 *
 * Each element goes through exactly the float32 operations, in the order, that
 * ml/train/optimizer.ts's TF.js ops run (each scalar rounded to float32 as a
 * TF.js scalar is; no fused multiply-adds, no reassociation), so the result has
 * the same bits as the op path on the cpu and wasm backends: a run that switches
 * between them, or resumes from a checkpoint, continues bit-identically.
 * Elements are independent, so the threads that share a large variable's
 * elements (lp_parallel_for) change no bit either.
 */
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include <stdlib.h>
#include "napi-args.h"

/* GCC vectorizes these loops from -O3 only (the addon builds with -O2, and -fno-math-errno so that sqrtf vectorizes); neither changes a result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

enum { NO_DECAY, COUPLED, DECOUPLED };

typedef struct {
  float lr, wd, b1, one_b1, b2, one_b2, c1, c2, eps;
  int mode;
} adam_params;

typedef struct {
  float lr, wd, mu;
  int mode;
} sgd_params;

static inline void adamw_one(const adam_params *p, size_t n, const float *restrict w, const float *restrict g, float *restrict m, float *restrict v, float *restrict w_out) {
  for (size_t i = 0; i < n; i++) {
    float gi = g[i];
    if (p->mode == COUPLED) gi = gi + w[i] * p->wd;
    const float mi = m[i] * p->b1 + gi * p->one_b1;
    const float vi = v[i] * p->b2 + (gi * gi) * p->one_b2;
    float update = (mi / p->c1) / (sqrtf(vi / p->c2) + p->eps);
    if (p->mode == DECOUPLED) update = update + w[i] * p->wd;
    w_out[i] = w[i] - update * p->lr;
    m[i] = mi;
    v[i] = vi;
  }
}

static inline void sgd_one(const sgd_params *p, size_t n, const float *restrict w, const float *restrict g, float *restrict b, float *restrict w_out) {
  for (size_t i = 0; i < n; i++) {
    float gi = g[i];
    if (p->mode == COUPLED) gi = gi + w[i] * p->wd;
    const float bi = b[i] * p->mu + gi;
    float update = bi;
    if (p->mode == DECOUPLED) update = update + w[i] * p->wd;
    w_out[i] = w[i] - update * p->lr;
    b[i] = bi;
  }
}

/* Float32Array views of a call's tensors: views[variable·per + j], each variable's `per` arrays of length lengths[variable]. */
typedef struct {
  float **views;
  size_t *lengths;
  size_t count;
} tensor_list;

/*
 * Reads argv = (tensors, params): `per` Float32Arrays of one length per
 * variable into *list (freed by the caller, also on failure) and exactly
 * `want` params.
 */
static bool read_update(napi_env env, napi_value *argv, size_t per, tensor_list *list, double *params, size_t want) {
  bool is_array = false;
  uint32_t total = 0;
  double *p;
  size_t plen, len;
  if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[0], &total) != napi_ok || total % per != 0) {
    napi_throw_type_error(env, NULL, "tensors: expected an array of Float32Arrays, a whole number of variables");
    return false;
  }
  if (!typed_array(env, argv[1], napi_float64_array, (void **)&p, &plen, "params")) return false;
  if (plen != want || (p[2] != NO_DECAY && p[2] != COUPLED && p[2] != DECOUPLED)) {
    napi_throw_range_error(env, NULL, "params: wrong length, or a mode other than 0, 1 or 2");
    return false;
  }
  for (size_t i = 0; i < want; i++) params[i] = p[i];
  list->count = total / per;
  list->views = malloc((total + 1) * sizeof(float *));
  list->lengths = malloc((list->count + 1) * sizeof(size_t));
  if (!list->views || !list->lengths) {
    napi_throw_error(env, NULL, "optimizer update: out of memory");
    return false;
  }
  for (uint32_t i = 0; i < total; i++) {
    napi_value t;
    if (napi_get_element(env, argv[0], i, &t) != napi_ok || !typed_array(env, t, napi_float32_array, (void **)&list->views[i], &len, "tensors[i]")) return false;
    if (i % per == 0) list->lengths[i / per] = len;
    else if (len != list->lengths[i / per]) {
      napi_throw_range_error(env, NULL, "tensors: a variable's arrays differ in length");
      return false;
    }
  }
  return true;
}

static void free_list(tensor_list *list) {
  free(list->views);
  free(list->lengths);
}

/* Elements per thread at least: below this, starting a thread costs more than it saves. */
#define GRAIN ((size_t)1 << 15)

/* One variable's arrays and the step's parameters, for a range of its elements. */
typedef struct {
  const void *params;
  float **t;
} update_job;

/* AdamW's divisions and square roots gain from wide vectors (0.78 → 0.68 ms over the MLP's 670k weights, one thread). */
CLONES static void adamw_range(void *ctx, size_t lo, size_t hi) {
  const update_job *j = ctx;
  float **t = j->t;
  adamw_one(j->params, hi - lo, t[0] + lo, t[1] + lo, t[2] + lo, t[3] + lo, t[4] + lo);
}

/* SGD's update streams memory: AVX-512 clones of it measured slower (0.48 → 0.66 ms), so it stays on the baseline. */
static void sgd_range(void *ctx, size_t lo, size_t hi) {
  const update_job *j = ctx;
  float **t = j->t;
  sgd_one(j->params, hi - lo, t[0] + lo, t[1] + lo, t[2] + lo, t[3] + lo);
}

napi_value adamw(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double q[10];
  tensor_list list = {0};
  if (arguments(env, info, 2, argv, "adamw(tensors, params)") && read_update(env, argv, 5, &list, q, 10)) {
    const adam_params p = {.lr = (float)q[0], .wd = (float)q[1], .mode = (int)q[2], .b1 = (float)q[3], .one_b1 = (float)q[4], .b2 = (float)q[5],
                           .one_b2 = (float)q[6], .c1 = (float)q[7], .c2 = (float)q[8], .eps = (float)q[9]};
    for (size_t k = 0; k < list.count; k++) {
      update_job j = {.params = &p, .t = list.views + 5 * k};
      lp_parallel_for(list.lengths[k], GRAIN, adamw_range, &j);
    }
  }
  free_list(&list);
  return NULL;
}

napi_value sgd_momentum(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double q[4];
  tensor_list list = {0};
  if (arguments(env, info, 2, argv, "sgdMomentum(tensors, params)") && read_update(env, argv, 4, &list, q, 4)) {
    const sgd_params p = {.lr = (float)q[0], .wd = (float)q[1], .mode = (int)q[2], .mu = (float)q[3]};
    for (size_t k = 0; k < list.count; k++) {
      update_job j = {.params = &p, .t = list.views + 4 * k};
      lp_parallel_for(list.lengths[k], GRAIN, sgd_range, &j);
    }
  }
  free_list(&list);
  return NULL;
}
