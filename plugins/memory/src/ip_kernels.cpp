// memory/src/ip_kernels.cpp — inner-product kernels compiled per function for their instruction
// set and picked by CPUID (decision 0099).
#include "ip_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define JARVIS_IP_X86 1
#endif

namespace jarvis::memory {
namespace {

std::size_t dims_of(const void* p) { return *static_cast<const std::size_t*>(p); }

/// The reference: a plain loop (what every other kernel must agree with; also non-x86 CPUs).
float ip_portable(const void* a, const void* b, const void* d) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  const std::size_t n = dims_of(d);
  float sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += x[i] * y[i];
  return 1.0F - sum;
}

#if defined(JARVIS_IP_X86)

// SSE is part of x86-64 itself: no CPU check.
float ip_sse(const void* a, const void* b, const void* d) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  const std::size_t n = dims_of(d);
  __m128 s0 = _mm_setzero_ps();
  __m128 s1 = _mm_setzero_ps();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(x + i), _mm_loadu_ps(y + i)));
    s1 = _mm_add_ps(s1, _mm_mul_ps(_mm_loadu_ps(x + i + 4), _mm_loadu_ps(y + i + 4)));
  }
  for (; i + 4 <= n; i += 4)
    s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(x + i), _mm_loadu_ps(y + i)));
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, _mm_add_ps(s0, s1));
  float sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; ++i) sum += x[i] * y[i];
  return 1.0F - sum;
}

__attribute__((target("avx2,fma"))) float ip_avx2(const void* a, const void* b, const void* d) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  const std::size_t n = dims_of(d);
  __m256 s0 = _mm256_setzero_ps();
  __m256 s1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
  const __m256 s = _mm256_add_ps(s0, s1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  float sum = _mm_cvtss_f32(h);
  for (; i < n; ++i) sum += x[i] * y[i];
  return 1.0F - sum;
}

__attribute__((target("avx512f"))) float ip_avx512(const void* a, const void* b, const void* d) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  const std::size_t n = dims_of(d);
  __m512 s0 = _mm512_setzero_ps();
  __m512 s1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), s1);
  }
  for (; i + 16 <= n; i += 16)
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), s0);
  if (i < n) {  // the last 1–15 floats, masked: nothing is read past either vector
    const auto mask = static_cast<__mmask16>((1U << (n - i)) - 1U);
    s1 =
        _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, x + i), _mm512_maskz_loadu_ps(mask, y + i), s1);
  }
  // Not _mm512_reduce_add_ps: GCC 12 warns inside it (-Wuninitialized on _mm256_undefined_pd).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(s0, s1));
  float sum = 0;
  for (float l : lanes) sum += l;
  return 1.0F - sum;
}

#endif

}  // namespace

std::vector<InnerProductKernel> available_inner_product_kernels() {
  std::vector<InnerProductKernel> out;
#if defined(JARVIS_IP_X86)
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the wider registers (XGETBV).
  if (__builtin_cpu_supports("avx512f")) out.push_back({"avx512", &ip_avx512});
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    out.push_back({"avx2", &ip_avx2});
  }
  out.push_back({"sse", &ip_sse});
#endif
  out.push_back({"portable", &ip_portable});
  return out;
}

InnerProductKernel inner_product_kernel(const std::string& wanted) {
  const std::vector<InnerProductKernel> all = available_inner_product_kernels();
  for (const auto& k : all) {
    if (k.name == wanted) return k;
  }
  return all.front();
}

}  // namespace jarvis::memory
