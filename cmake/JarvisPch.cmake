# Precompiled headers (docs/decisions/0070-precompiled-headers-and-linker.md).
#
# A precompiled header is only valid for translation units compiled with the same code-generation
# flags (optimisation level, -fPIC, visibility), so each family of targets with one set of flags
# gets one "owner": a tiny OBJECT library that compiles the header once. The other targets of the
# family reuse its .gch (target_precompile_headers(REUSE_FROM)); GCC checks the match itself and
# CMake passes -Winvalid-pch, so a mismatch would be a warning (and the zero-warning build fails).
#
#   jarvis_pch_owner(jarvis_pch_plugin HEADERS <jarvis/jarvis.h> LINK Jarvis::sdk PIC
#                    OPTIONS -fno-gnu-unique)
#   jarvis_reuse_pch(jarvis_plugin_chat_core jarvis_pch_plugin)
#
# -DJARVIS_PCH=OFF compiles without them, e.g. to check that every file includes what it uses
# (a precompiled header is force-included, so a missing #include of an SDK header goes unnoticed
# while it is on).
option(JARVIS_PCH "Precompile the headers shared by the plugins, the host and the tests" ON)

# jarvis_pch_owner(<name> HEADERS <hdr…> [LINK <targets…>] [OPTIONS <flags…>] [PIC]): an OBJECT
# library <name> that owns a precompiled header made of <hdr…>, compiled with the usage
# requirements of LINK and the flags OPTIONS (-fPIC, hidden visibility with PIC). No-op when
# JARVIS_PCH is OFF.
function(jarvis_pch_owner name)
  cmake_parse_arguments(P "PIC" "" "HEADERS;LINK;OPTIONS" ${ARGN})
  if(NOT JARVIS_PCH)
    return()
  endif()
  set(src ${CMAKE_BINARY_DIR}/pch/${name}.cpp)
  file(CONFIGURE OUTPUT ${src} CONTENT "// Owner of a precompiled header (cmake/JarvisPch.cmake).\n")
  add_library(${name} OBJECT ${src})
  target_link_libraries(${name} PRIVATE ${P_LINK})
  if(P_OPTIONS)
    target_compile_options(${name} PRIVATE ${P_OPTIONS})
  endif()
  if(P_PIC)
    set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON
                          CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  endif()
  set_target_properties(${name} PROPERTIES UNITY_BUILD OFF)
  target_precompile_headers(${name} PRIVATE ${P_HEADERS})
endfunction()

# jarvis_reuse_pch(<target> <owner>): <target> compiles with <owner>'s precompiled header. No-op
# when <owner> does not exist (JARVIS_PCH=OFF).
function(jarvis_reuse_pch target owner)
  if(TARGET ${owner})
    target_precompile_headers(${target} REUSE_FROM ${owner})
  endif()
endfunction()
