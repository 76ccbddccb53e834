// jarvis/version.h — the SDK's API version and ABI tag.
//
// A plugin is compatible with a host when it was built against the same SDK major version, a
// minor version not newer than the host's (and not older than JARVIS_SDK_OLDEST_COMPATIBLE_MINOR),
// and the same ABI tag. The host checks this from the
// plugin's exported marker symbol *without running any plugin code* (see plugin.h).
#pragma once

#include <cstddef>  // defines __GLIBCXX__ / _LIBCPP_VERSION, needed below

/// SDK API major version: bumped on any incompatible change to an SDK header.
#define JARVIS_SDK_VERSION_MAJOR 1
/// SDK API minor version: bumped when the SDK gains backward-compatible features.
#define JARVIS_SDK_VERSION_MINOR 1
/// Oldest minor version of this major the host still loads. SDK 1.1 changed structs passed by value
/// across the boundary (ToolCall, OutboundRequest, ProcessOptions, Response, TaskContext …), so a
/// plugin built against 1.0 is refused before any of its code runs. From 1.1 on, a minor release
/// only adds functions, interfaces and new structs (docs/plugin-sdk.md, "Evolution rule"); this
/// floor moves only when a minor version says so in its release notes.
#define JARVIS_SDK_OLDEST_COMPATIBLE_MINOR 1

// The ABI tag names the C++ ABI family and the standard-library ABI the plugin was compiled with.
// Plugins built with a different standard library (or the old copy-on-write std::string) cannot
// exchange std:: types with the host. JARVIS_ABI_TAG_OVERRIDE exists for the loader's tests.
#if defined(JARVIS_ABI_TAG_OVERRIDE)
#define JARVIS_ABI_TAG_TOKEN JARVIS_ABI_TAG_OVERRIDE
#elif defined(_MSC_VER)
#define JARVIS_ABI_TAG_TOKEN msvc
#elif defined(_LIBCPP_VERSION)
#define JARVIS_ABI_TAG_TOKEN itanium_libcxx
#elif defined(__GLIBCXX__) && defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI
#define JARVIS_ABI_TAG_TOKEN itanium_libstdcxx_cxx11
#elif defined(__GLIBCXX__)
#define JARVIS_ABI_TAG_TOKEN itanium_libstdcxx_cow
#else
#define JARVIS_ABI_TAG_TOKEN unknown
#endif

#define JARVIS_PP_STR_(x) #x
/// Stringifies a macro argument after expansion.
#define JARVIS_PP_STR(x) JARVIS_PP_STR_(x)
#define JARVIS_PP_CAT_(a, b) a##b
/// Concatenates two tokens after expansion.
#define JARVIS_PP_CAT(a, b) JARVIS_PP_CAT_(a, b)

/// The ABI tag as a string, e.g. "itanium_libstdcxx_cxx11".
#define JARVIS_ABI_TAG JARVIS_PP_STR(JARVIS_ABI_TAG_TOKEN)

/// Marks a symbol as part of the SDK's shared-library interface (visible across the boundary).
#define JARVIS_API __attribute__((visibility("default")))

namespace jarvis {

/// Version of the SDK headers this translation unit was compiled against.
struct SdkVersion {
  int major = JARVIS_SDK_VERSION_MAJOR;
  int minor = JARVIS_SDK_VERSION_MINOR;
};

/// The SDK version and ABI tag the SDK *library* (and so the host) was built with.
JARVIS_API SdkVersion sdk_library_version();
/// ABI tag of the SDK library, e.g. "itanium_libstdcxx_cxx11".
JARVIS_API const char* sdk_library_abi_tag();

}  // namespace jarvis
