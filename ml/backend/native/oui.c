/*
 * OUI's pair Hamming distances on the native addon (addon.c; METHODS.md §2):
 *
 *   pairHamming(x, d, i, j, out)
 *     x: a batch of activations, rows of d float32 values; i, j: Int32Arrays of
 *     k sample indices; out[p] = the number of units u whose on/off state
 *     (x > 0: NaN and ±0 are off) differs between rows i[p] and j[p].
 *
 * The wasm kernel (wasm-kernels/pair-hamming.ts) does the same in JavaScript at
 * about 3 ns per unit: 2.3 ms of a CNN step's 35 ms for its first layer's
 * 25,088 units × 28 pairs. Here each pair is one vectorized pass of compares
 * and a count, the pairs shared among the product threads; counts are exact
 * integers, so the result is the wasm kernel's, bit for bit.
 */
#include "napi-args.h"

/* GCC vectorizes the count from -O3 only (the addon builds with -O2); it changes no result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

/* Units per thread at least: below this, starting a thread costs more than it saves. */
#define GRAIN ((size_t)1 << 16)

typedef struct {
  const float *x;
  const int32_t *i, *j;
  size_t d;
  float *out;
} pairs_job;

/* The number of units whose sign state differs between rows a and c of d units. */
CLONES static uint32_t differing(const float *restrict a, const float *restrict c, size_t d) {
  uint32_t n = 0;
  for (size_t u = 0; u < d; u++) n += (uint32_t)(a[u] > 0.0f) ^ (uint32_t)(c[u] > 0.0f);
  return n;
}

static void pairs_range(void *ctx, size_t lo, size_t hi) {
  const pairs_job *p = ctx;
  for (size_t k = lo; k < hi; k++) p->out[k] = (float)differing(p->x + (size_t)p->i[k] * p->d, p->x + (size_t)p->j[k] * p->d, p->d);
}

napi_value pair_hamming(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  float *x, *out;
  int32_t *i, *j;
  size_t xlen, ilen, jlen, outlen;
  int64_t d;
  if (!arguments(env, info, 5, argv, "pairHamming(x, d, i, j, out)") || !typed_array(env, argv[0], napi_float32_array, (void **)&x, &xlen, "x") ||
      !non_negative(env, argv[1], &d, "d") || !typed_array(env, argv[2], napi_int32_array, (void **)&i, &ilen, "i") ||
      !typed_array(env, argv[3], napi_int32_array, (void **)&j, &jlen, "j") || !typed_array(env, argv[4], napi_float32_array, (void **)&out, &outlen, "out")) {
    return NULL;
  }
  if (d == 0 || xlen % (size_t)d != 0 || ilen != jlen || outlen != ilen) {
    napi_throw_range_error(env, NULL, "pairHamming: x must be whole rows of d > 0 units, and i, j and out of one length");
    return NULL;
  }
  const size_t rows = xlen / (size_t)d;
  for (size_t p = 0; p < ilen; p++) {
    if (i[p] < 0 || j[p] < 0 || (size_t)i[p] >= rows || (size_t)j[p] >= rows) {
      char msg[96];
      snprintf(msg, sizeof msg, "pairHamming: pair (%d, %d) outside the batch of %zu", i[p], j[p], rows);
      napi_throw_range_error(env, NULL, msg);
      return NULL;
    }
  }
  pairs_job job = {.x = x, .i = i, .j = j, .d = (size_t)d, .out = out};
  lp_parallel_for(ilen, (GRAIN + (size_t)d - 1) / (size_t)d, pairs_range, &job);
  return NULL;
}
