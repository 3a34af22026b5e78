/*
 * Matrix products of the native BLAS addon on several threads, with results that
 * do not depend on the thread count.
 *
 * OpenBLAS's own threading picks its code path and its partition of C from the
 * thread count, and the bits of sgemm's result change with them (measured with
 * 0.3.21 on SkylakeX and Haswell kernels, 1 vs 2 threads). A training whose
 * thread count follows the trainings running beside it (ml/backend/native/threads.ts)
 * would then not be reproducible, nor its checkpoints bit-identical on resume.
 * So OpenBLAS runs one thread per call, and lp_sgemm splits C itself into blocks
 * that are a function of the shape alone: the larger of m and n is cut into 1, 2,
 * 4, 6 or 8 blocks (2 from 256, one more pair per 512, 16-aligned). Each block is
 * one single-threaded OpenBLAS call whatever runs it, so the bits are the same on
 * 1 thread as on 8; threads only decide which blocks run at once.
 *
 * lp_parallel_for runs the elementwise and per-image passes of the other files
 * (optimizer.c, pool.c, bias.c) on the same threads: each element's result
 * depends on that element alone, so how the range is cut changes no bit.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include "napi-args.h"

/* Threads for one product: setThreads(n), process wide like OpenBLAS's own. */
static atomic_int lp_threads = 1;

void lp_set_threads(int n) { atomic_store(&lp_threads, n < 1 ? 1 : n); }
int lp_get_threads(void) { return atomic_load(&lp_threads); }

/* Below this many multiply-adds a product runs its blocks on the calling thread (starting a thread costs more). */
#define PARALLEL_MIN_MACS (1u << 21)
#define MAX_BLOCKS 8

typedef struct {
  CBLAS_TRANSPOSE ta, tb;
  int m, n, k, lda, ldb, ldc, by_cols, blocks, width;
  const float *a, *b;
  float beta, *c;
  atomic_int next;
} job;

/* The number of blocks the split dimension `dim` is cut into. */
static int block_count(int dim) {
  if (dim < 256) return 1;
  int pairs = dim / 512;
  pairs = pairs < 1 ? 1 : (pairs > MAX_BLOCKS / 2 ? MAX_BLOCKS / 2 : pairs);
  return 2 * pairs;
}

static void run_block(const job *j, int i) {
  const int lo = i * j->width;
  const int dim = j->by_cols ? j->n : j->m;
  if (lo >= dim) return;
  const int w = dim - lo < j->width ? dim - lo : j->width;
  if (j->by_cols) {
    const float *b = j->tb == CblasTrans ? j->b + (size_t)lo * (size_t)j->ldb : j->b + lo;
    cblas_sgemm(CblasRowMajor, j->ta, j->tb, j->m, w, j->k, 1.0f, j->a, j->lda, b, j->ldb, j->beta, j->c + lo, j->ldc);
  } else {
    const float *a = j->ta == CblasTrans ? j->a + lo : j->a + (size_t)lo * (size_t)j->lda;
    cblas_sgemm(CblasRowMajor, j->ta, j->tb, w, j->n, j->k, 1.0f, a, j->lda, j->b, j->ldb, j->beta, j->c + (size_t)lo * (size_t)j->ldc, j->ldc);
  }
}

static void *drain(void *arg) {
  job *j = arg;
  for (int i = atomic_fetch_add(&j->next, 1); i < j->blocks; i = atomic_fetch_add(&j->next, 1)) run_block(j, i);
  return NULL;
}

/* c = op(a)·op(b) + beta·c, row-major, as cblas_sgemm with alpha 1; see the top of this file. */
void lp_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  job j = {.ta = ta, .tb = tb, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .a = a, .b = b, .beta = beta, .c = c};
  j.by_cols = n >= m;
  const int dim = j.by_cols ? n : m;
  j.blocks = block_count(dim);
  j.width = ((dim + j.blocks - 1) / j.blocks + 15) / 16 * 16;
  atomic_init(&j.next, 0);
  int threads = lp_get_threads();
  if (threads > j.blocks) threads = j.blocks;
  if ((double)m * n * k < PARALLEL_MIN_MACS) threads = 1;
  pthread_t helpers[MAX_BLOCKS];
  int started = 0;
  for (int t = 1; t < threads; t++) {
    if (pthread_create(&helpers[started], NULL, drain, &j) == 0) started++;
  }
  drain(&j);
  for (int t = 0; t < started; t++) pthread_join(helpers[t], NULL);
}

typedef struct {
  lp_range_fn fn;
  void *ctx;
  size_t n, parts;
  atomic_size_t next;
} range_job;

static void *drain_ranges(void *arg) {
  range_job *j = arg;
  for (size_t i = atomic_fetch_add(&j->next, 1); i < j->parts; i = atomic_fetch_add(&j->next, 1)) j->fn(j->ctx, j->n * i / j->parts, j->n * (i + 1) / j->parts);
  return NULL;
}

/* fn(ctx, lo, hi) over [0, n) cut into one range per thread (setThreads), each of at least `grain` items. */
void lp_parallel_for(size_t n, size_t grain, lp_range_fn fn, void *ctx) {
  size_t parts = (size_t)lp_get_threads();
  if (grain < 1) grain = 1;
  if (parts > n / grain) parts = n / grain;
  if (parts > MAX_BLOCKS) parts = MAX_BLOCKS;
  if (parts <= 1) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  range_job j = {.fn = fn, .ctx = ctx, .n = n, .parts = parts};
  atomic_init(&j.next, 0);
  pthread_t helpers[MAX_BLOCKS];
  size_t started = 0;
  for (size_t t = 1; t < parts; t++) {
    if (pthread_create(&helpers[started], NULL, drain_ranges, &j) == 0) started++;
  }
  drain_ranges(&j);
  for (size_t t = 0; t < started; t++) pthread_join(helpers[t], NULL);
}
