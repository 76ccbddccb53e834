// memory/src/ip_kernels.h — inner-product distance kernels for the vector index, picked at run
// time for the CPU the host runs on (decision 0099).
//
// hnswlib compiles its AVX and AVX-512 kernels only when the whole translation unit is built
// with -mavx / -mavx512f, which would let the compiler use those instructions anywhere in it and
// crash on an older CPU. These kernels are compiled for their instruction set one function at a
// time (GCC's target attribute) and chosen once by a CPUID check, so one binary uses AVX-512 or
// AVX2 + FMA where the CPU has them and SSE elsewhere.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace jarvis::memory {

/// hnswlib's distance signature: (vector a, vector b, pointer to the dimension count).
using InnerProductDistance = float (*)(const void*, const void*, const void*);

/// One kernel: its name ("avx512", "avx2", "sse") and its distance 1 - a·b.
struct InnerProductKernel {
  std::string name;
  InnerProductDistance distance = nullptr;
};

/// The kernel named `wanted` ("sse", "avx2", "avx512") when this CPU runs it, else the fastest
/// one it runs; "" = the fastest (what the index uses; benchmarks compare the others).
InnerProductKernel inner_product_kernel(const std::string& wanted = "");

/// Every kernel this CPU can run, best first (tests compare them with each other).
std::vector<InnerProductKernel> available_inner_product_kernels();

}  // namespace jarvis::memory
