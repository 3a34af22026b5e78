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
 * one single-threaded call whatever runs it, so the bits are the same on 1 thread
 * as on 8; threads only decide which blocks run at once.
 *
 * Built with oneDNN (LP_DNNL, where its development files are installed: Debian's
 * libdnnl-dev), a block is one dnnl_sgemm call instead: its JIT kernels for the
 * CPU's widest vector ISA ran the MLP's training products ~13 % faster than
 * OpenBLAS 0.3.21's SkylakeX kernels (measured on a Sapphire Rapids Xeon). Its
 * OpenMP team is held to one thread per calling thread (omp_set_num_threads is
 * per thread), so the same argument keeps its bits independent of the threads.
 * GLAI's float64 products and LAPACK stay on OpenBLAS. Each oneDNN call runs with
 * the thread's signals blocked (they are delivered when it returns): a signal
 * handled inside dnnl_sgemm 2.6.3, e.g. V8's SIGPROF under `node --cpu-prof`,
 * corrupted the heap (glibc aborted at exit: "corrupted size vs. prev_size");
 * OpenBLAS's calls did not (test/helpers/products-under-signals.ts).
 *
 * lp_parallel_for runs the elementwise and per-image passes of the other files
 * (optimizer.c, pool.c, bias.c) on the same threads: each element's result
 * depends on that element alone, so how the range is cut changes no bit.
 */
#include <cblas.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
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
} job;

/* The number of blocks the split dimension `dim` is cut into. */
static int block_count(int dim) {
  if (dim < 256) return 1;
  int pairs = dim / 512;
  pairs = pairs < 1 ? 1 : (pairs > MAX_BLOCKS / 2 ? MAX_BLOCKS / 2 : pairs);
  return 2 * pairs;
}

#ifdef LP_DNNL
#include <oneapi/dnnl/dnnl.h>
void omp_set_num_threads(int n);

/* One block's product: dnnl_sgemm on this thread alone (row-major like cblas); OpenBLAS if oneDNN refuses it. */
static void block_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &saved);
  omp_set_num_threads(1);
  const dnnl_status_t status = dnnl_sgemm(ta == CblasTrans ? 'T' : 'N', tb == CblasTrans ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  if (status != dnnl_success) cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}

/* Which library multiplies ("oneDNN 2.6.3" or "OpenBLAS"). */
const char *lp_products(void) {
  static char name[48];
  const dnnl_version_t *v = dnnl_version();
  snprintf(name, sizeof name, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
  return name;
}
#else
static void block_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}

const char *lp_products(void) { return "OpenBLAS"; }
#endif

static void run_block(const job *j, int i) {
  const int lo = i * j->width;
  const int dim = j->by_cols ? j->n : j->m;
  if (lo >= dim) return;
  const int w = dim - lo < j->width ? dim - lo : j->width;
  if (j->by_cols) {
    const float *b = j->tb == CblasTrans ? j->b + (size_t)lo * (size_t)j->ldb : j->b + lo;
    block_sgemm(j->ta, j->tb, j->m, w, j->k, j->a, j->lda, b, j->ldb, j->beta, j->c + lo, j->ldc);
  } else {
    const float *a = j->ta == CblasTrans ? j->a + lo : j->a + (size_t)lo * (size_t)j->lda;
    block_sgemm(j->ta, j->tb, w, j->n, j->k, a, j->lda, j->b, j->ldb, j->beta, j->c + (size_t)lo * (size_t)j->ldc, j->ldc);
  }
}

/*
 * The helper threads: started once (lazily, up to MAX_BLOCKS − 1) and kept. A
 * thread created per call would cost its start and OpenBLAS's per-thread buffers
 * on every product. Between jobs a helper spins for up to SPIN_NS, then sleeps: a
 * training's products come well within that of each other, so the helpers stay
 * awake while it runs (waking a sleeping thread costs tens of microseconds in a VM,
 * as much as a small product), and idle workers do not burn a core. A job is
 * `blocks` calls of fn(ctx, i) taken from an atomic counter by the caller and the
 * helpers with an id below `wanted`; the caller returns when every block is done,
 * whether or not a helper took part. One caller holds the pool at a time; a
 * caller on another thread (two trainings in one process) that finds it held runs
 * its blocks itself.
 *
 * The caller does not wait for helpers that took no block. A helper preempted by
 * another thread of the process (V8's compiler and garbage collector run beside
 * the products on a machine's few cores) may run again only milliseconds later,
 * when the caller has long done every block itself. Waiting for such a helper to
 * check in cost about 7 % of a two-thread MLP training (1,000 steps, 7,000 jobs:
 * 117 done by the caller alone, then 202 ms of waiting; all waits together fell
 * from 345 to 142 ms without it). So a job is published like a seqlock: the
 * caller makes `generation` odd, waits until no helper is inside a job (helpers
 * leave a finished job at once), writes the job, and makes `generation` even
 * again. A helper enters (`inside`), then checks that the generation it saw is
 * still current, and leaves otherwise: it never reads a job being written.
 */
#define SPIN_NS 1000000L
typedef void (*block_fn)(void *ctx, int i);
static struct {
  pthread_mutex_t busy, m;
  pthread_cond_t wake, done;
  int started, wanted, blocks, sleepers;
  block_fn fn;
  void *ctx;
  atomic_int next, completed, inside;
  atomic_ulong generation;
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER, .m = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

static long long monotonic_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Spins until done() holds or SPIN_NS pass; whether it holds. */
static bool spin_until(bool (*done)(const void *), const void *arg) {
  const long long until = monotonic_ns() + SPIN_NS;
  for (unsigned i = 1;; i++) {
    if (done(arg)) return true;
    relax();
    if ((i & 255) == 0 && monotonic_ns() > until) return done(arg);
  }
}

/* A job other than `seen` is published (the generation is even). */
static bool published(const void *seen) {
  const unsigned long g = atomic_load_explicit(&pool.generation, memory_order_acquire);
  return (g & 1) == 0 && g != *(const unsigned long *)seen;
}
static bool all_done(const void *unused) {
  (void)unused;
  return atomic_load_explicit(&pool.completed, memory_order_acquire) == pool.blocks;
}

/* Runs blocks of the current job until none is left; whoever completes the last one wakes a sleeping caller. */
static void take_blocks(void) {
  const int blocks = pool.blocks;
  for (int i = atomic_fetch_add(&pool.next, 1); i < blocks; i = atomic_fetch_add(&pool.next, 1)) {
    pool.fn(pool.ctx, i);
    if (atomic_fetch_add_explicit(&pool.completed, 1, memory_order_acq_rel) == blocks - 1) {
      pthread_mutex_lock(&pool.m);
      pthread_cond_signal(&pool.done);
      pthread_mutex_unlock(&pool.m);
    }
  }
}

static void *helper(void *arg) {
  const int id = (int)(intptr_t)arg;
  unsigned long seen = 0;
  for (;;) {
    if (!spin_until(published, &seen)) {
      pthread_mutex_lock(&pool.m);
      pool.sleepers++;
      while (!published(&seen)) pthread_cond_wait(&pool.wake, &pool.m);
      pool.sleepers--;
      pthread_mutex_unlock(&pool.m);
    }
    const unsigned long g = atomic_load(&pool.generation);
    atomic_fetch_add(&pool.inside, 1);
    if (atomic_load(&pool.generation) == g && (g & 1) == 0) {
      seen = g;
      if (id < pool.wanted) take_blocks();
    }
    atomic_fetch_sub_explicit(&pool.inside, 1, memory_order_release);
  }
  return NULL;
}

/* Starts helpers until `threads − 1` run (fewer if creating one fails); returns the threads available. Called holding pool.busy. */
static int ensure_helpers(int threads) {
  while (pool.started < threads - 1) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    const bool ok = pthread_create(&t, &attr, helper, (void *)(intptr_t)(pool.started + 1)) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    pool.started++;
  }
  return pool.started + 1;
}

/* Publishes a job (see above the pool): odd generation, no helper inside, the job written, even generation; wakes sleeping helpers. Called holding pool.busy. */
static void publish(int blocks, int threads, block_fn fn, void *ctx) {
  atomic_fetch_add(&pool.generation, 1);
  while (atomic_load(&pool.inside) != 0) relax();
  pool.fn = fn;
  pool.ctx = ctx;
  pool.blocks = blocks;
  pool.wanted = threads;
  atomic_store(&pool.next, 0);
  atomic_store(&pool.completed, 0);
  atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
  pthread_mutex_lock(&pool.m);
  if (pool.sleepers > 0) pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.m);
}

/* fn(ctx, i) for i in [0, blocks) on up to `threads` threads (the caller's included). */
static void run_blocks(int blocks, int threads, block_fn fn, void *ctx) {
  if (threads > blocks) threads = blocks;
  if (threads <= 1 || pthread_mutex_trylock(&pool.busy) != 0) {
    for (int i = 0; i < blocks; i++) fn(ctx, i);
    return;
  }
  publish(blocks, ensure_helpers(threads), fn, ctx);
  take_blocks();
  if (!spin_until(all_done, NULL)) {
    pthread_mutex_lock(&pool.m);
    while (!all_done(NULL)) pthread_cond_wait(&pool.done, &pool.m);
    pthread_mutex_unlock(&pool.m);
  }
  pthread_mutex_unlock(&pool.busy);
}

static void gemm_block(void *ctx, int i) { run_block(ctx, i); }

/* c = op(a)·op(b) + beta·c, row-major, as cblas_sgemm with alpha 1; see the top of this file. */
void lp_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  job j = {.ta = ta, .tb = tb, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .a = a, .b = b, .beta = beta, .c = c};
  j.by_cols = n >= m;
  const int dim = j.by_cols ? n : m;
  j.blocks = block_count(dim);
  j.width = ((dim + j.blocks - 1) / j.blocks + 15) / 16 * 16;
  run_blocks(j.blocks, (double)m * n * k < PARALLEL_MIN_MACS ? 1 : lp_get_threads(), gemm_block, &j);
}

typedef struct {
  lp_range_fn fn;
  void *ctx;
  size_t n, parts;
} range_job;

static void range_block(void *ctx, int i) {
  const range_job *j = ctx;
  j->fn(j->ctx, j->n * (size_t)i / j->parts, j->n * (size_t)(i + 1) / j->parts);
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
  run_blocks((int)parts, (int)parts, range_block, &j);
}
