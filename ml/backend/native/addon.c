/*
 * lightpath's optional native BLAS provider: an N-API addon over OpenBLAS, called
 * by the wasm backend's kernels (matmul.ts, conv2d.ts here) on float32 views of
 * the wasm heap. scripts/build-native.ts builds it from the C files of this
 * folder. Exports:
 *
 *   sgemm, epilogue      matrix products (gemm.c)
 *   conv2d               convolutions and their gradients as im2col + sgemm, or
 *                        direct for small patches (conv.c)
 *   conv2dBiasRelu       conv2d's forward pass, then relu(· + bias) (conv.c)
 *   gatedGram,           float64 sufficient statistics and SPD solves for GLAI (linalg.c)
 *   bilinearForm,
 *   spdSolve(Factored)
 *   adamw, sgdMomentum   fused optimizer updates over all variables (optimizer.c)
 *   maxPool, maxPoolGrad max pooling and its gradient (pool.c)
 *   biasAdd, sumMiddle,  bias addition, the bias gradient, ReLU and its gradient,
 *   relu, reluGrad,      and a ReLU layer's bias + ReLU and gradients in one pass each (bias.c)
 *   biasRelu, reluGradSum
 *   pairHamming          OUI's per-pair count of units whose on/off state differs (oui.c)
 *   setThreads(n)        threads of one matrix product (parallel.c); OpenBLAS
 *                        itself always runs one thread per call
 *   info()               { config, corename, threads } of the OpenBLAS in use, and
 *                        products: the library of the float32 products (parallel.c)
 *
 * The module's only state is the thread count, process wide like OpenBLAS's
 * own, so it is safe to load in several worker threads; NAPI_MODULE_INIT makes
 * it context-aware.
 */
#include <cblas.h>
#include "napi-args.h"

static napi_value set_threads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t n;
  if (!arguments(env, info, 1, argv, "setThreads(n)") || !non_negative(env, argv[0], &n, "threads")) return NULL;
  if (n < 1) {
    napi_throw_range_error(env, NULL, "threads: at least 1");
    return NULL;
  }
  lp_set_threads((int)n);
  return NULL;
}

static napi_value get_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, config, corename, threads, products;
  if (napi_create_object(env, &out) != napi_ok ||
      napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config) != napi_ok ||
      napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &corename) != napi_ok ||
      napi_create_int32(env, lp_get_threads(), &threads) != napi_ok ||
      napi_create_string_utf8(env, lp_products(), NAPI_AUTO_LENGTH, &products) != napi_ok ||
      napi_set_named_property(env, out, "config", config) != napi_ok ||
      napi_set_named_property(env, out, "corename", corename) != napi_ok ||
      napi_set_named_property(env, out, "threads", threads) != napi_ok || napi_set_named_property(env, out, "products", products) != napi_ok) {
    return NULL;
  }
  return out;
}

NAPI_MODULE_INIT() {
  openblas_set_num_threads(1);
  const napi_property_descriptor props[] = {
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"epilogue", NULL, epilogue, NULL, NULL, NULL, napi_enumerable, NULL},
      {"conv2d", NULL, conv2d, NULL, NULL, NULL, napi_enumerable, NULL},
      {"conv2dBiasRelu", NULL, conv2d_bias_relu, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gatedGram", NULL, gated_gram, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bilinearForm", NULL, bilinear_form, NULL, NULL, NULL, napi_enumerable, NULL},
      {"spdSolve", NULL, spd_solve, NULL, NULL, NULL, napi_enumerable, NULL},
      {"spdSolveFactored", NULL, spd_solve_factored, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adamw", NULL, adamw, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sgdMomentum", NULL, sgd_momentum, NULL, NULL, NULL, napi_enumerable, NULL},
      {"maxPool", NULL, max_pool, NULL, NULL, NULL, napi_enumerable, NULL},
      {"maxPoolGrad", NULL, max_pool_grad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"biasAdd", NULL, bias_add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sumMiddle", NULL, sum_middle, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reluGrad", NULL, relu_grad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"relu", NULL, relu, NULL, NULL, NULL, napi_enumerable, NULL},
      {"biasRelu", NULL, bias_relu, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reluGradSum", NULL, relu_grad_sum, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pairHamming", NULL, pair_hamming, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, get_info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
