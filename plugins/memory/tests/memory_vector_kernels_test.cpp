// Inner-product kernels of the vector index (decision 0099): every kernel this CPU runs agrees
// with the plain loop on every length (the wide kernels' tails included), never reads past a
// vector, and the index uses the fastest one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "ip_kernels.h"
#include "support/support.h"
#include "vector_index.h"

namespace {

using jarvis::memory::available_inner_product_kernels;
using jarvis::memory::inner_product_kernel;

TEST(MemoryVectorKernels, EveryKernelAgreesWithThePlainLoopOnEveryLength) {
  const auto kernels = available_inner_product_kernels();
  ASSERT_GE(kernels.size(), 1U);
  EXPECT_EQ(kernels.back().name, "portable");
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-1.0F, 1.0F);
  for (std::size_t n = 1; n <= 1100; n += (n < 70 ? 1 : 37)) {
    // Each vector ends exactly at the end of its own heap block: ASan (make test-asan) reports
    // any kernel that reads a float past it.
    std::vector<float> a(n), b(n);
    double want = 0;
    for (std::size_t i = 0; i < n; ++i) {
      a[i] = u(rng);
      b[i] = u(rng);
      want += static_cast<double>(a[i]) * b[i];
    }
    for (const auto& k : kernels) {
      const float got = 1.0F - k.distance(a.data(), b.data(), &n);
      EXPECT_NEAR(got, want, 1e-4 * std::max(1.0, std::sqrt(static_cast<double>(n))))
          << k.name << " n=" << n;
    }
  }
}

TEST(MemoryVectorKernels, ANamedKernelIsUsedWhenTheCpuHasItElseTheFastest) {
  const auto kernels = available_inner_product_kernels();
  EXPECT_EQ(inner_product_kernel("").name, kernels.front().name);
  EXPECT_EQ(inner_product_kernel("portable").name, "portable");
  EXPECT_EQ(inner_product_kernel("no-such-kernel").name, kernels.front().name);
  for (const auto& k : kernels) EXPECT_EQ(inner_product_kernel(k.name).name, k.name);
}

TEST(MemoryVectorKernels, EachKernelsIndexFindsTheSameNearestItems) {
  jarvis::test::TempDir dir;
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  const int dims = 100;  // not a multiple of 16: the tails take part
  std::vector<std::vector<float>> points(300, std::vector<float>(dims));
  for (auto& p : points) {
    float norm = 0;
    for (auto& x : p) {
      x = g(rng);
      norm += x * x;
    }
    for (auto& x : p) x /= std::sqrt(norm);
  }
  const auto best = available_inner_product_kernels().front().name;
  for (const auto& k : available_inner_product_kernels()) {
    jarvis::memory::VectorIndex index(dir.file(k.name), "test-model", k.name);
    index.load_or_create(dims);
    EXPECT_EQ(index.kernel(), k.name);
    for (std::size_t i = 0; i < points.size(); ++i)
      ASSERT_EQ(index.add(static_cast<long long>(i) + 1, points[i]),
                jarvis::memory::VectorIndex::Added::Changed);
    // Each point's nearest item is itself, with similarity 1 (exact up to rounding).
    for (std::size_t i = 0; i < points.size(); i += 17) {
      auto near = index.search(points[i], 3);
      ASSERT_FALSE(near.empty()) << k.name;
      EXPECT_EQ(near.front().seq, static_cast<long long>(i) + 1) << k.name;
      EXPECT_NEAR(near.front().similarity, 1.0F, 1e-5) << k.name;
    }
  }
  jarvis::memory::VectorIndex default_index(dir.file("default"), "test-model");
  default_index.load_or_create(dims);
  EXPECT_EQ(default_index.kernel(), best);
}

}  // namespace
