# jarvis_add_plugin(NAME <name> SOURCES <src…> [MANIFEST <plugin.yaml>] [MIGRATIONS <dir>]
#                   [OUTPUT_DIR <dir>] [COMPILE_DEFINITIONS <defs…>] [NO_INSTALL])
#
# Builds a Jarvis plugin: a MODULE library lib<name>.so with hidden visibility and no undefined
# symbols, linked only to the SDK, and lays out the plugin folder <OUTPUT_DIR>/<name>/ with the
# library, plugin.yaml and migrations/. Works in the Jarvis tree and against the installed SDK
# (find_package(JarvisSDK)).
#
# The library carries no RPATH/RUNPATH at all, in the build tree or installed: the host has already
# loaded libjarvis_sdk.so.<major> when it dlopens a plugin, and the loader resolves the plugin's
# NEEDED entry to that library by its soname. A drop-in plugin folder so never names the machine
# it was built on.
#
# `cmake --install` copies the folder to <prefix>/${JARVIS_PLUGIN_INSTALL_DIR}/<name>/ (default
# lib/jarvis/plugins, where an installed host looks) unless NO_INSTALL is given or, in the Jarvis
# tree, an OUTPUT_DIR other than the default names a test fixture.
if(NOT DEFINED JARVIS_PLUGIN_INSTALL_DIR)
  set(JARVIS_PLUGIN_INSTALL_DIR lib/jarvis/plugins)
endif()
function(jarvis_add_plugin)
  cmake_parse_arguments(P "NO_INSTALL" "NAME;MANIFEST;MIGRATIONS;OUTPUT_DIR" "SOURCES;COMPILE_DEFINITIONS" ${ARGN})
  if(NOT P_NAME OR NOT P_SOURCES)
    message(FATAL_ERROR "jarvis_add_plugin: NAME and SOURCES are required")
  endif()
  if(NOT P_MANIFEST)
    set(P_MANIFEST ${CMAKE_CURRENT_SOURCE_DIR}/plugin.yaml)
  endif()
  if(NOT P_MIGRATIONS AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/migrations)
    set(P_MIGRATIONS ${CMAKE_CURRENT_SOURCE_DIR}/migrations)
  endif()
  set(install_folder ON)
  if(P_NO_INSTALL OR P_OUTPUT_DIR)
    set(install_folder OFF)
  endif()
  if(NOT P_OUTPUT_DIR)
    if(DEFINED JARVIS_PLUGIN_OUTPUT_DIR)
      set(P_OUTPUT_DIR ${JARVIS_PLUGIN_OUTPUT_DIR})
    else()
      set(P_OUTPUT_DIR ${CMAKE_BINARY_DIR}/plugins)
    endif()
  endif()
  set(dir ${P_OUTPUT_DIR}/${P_NAME})
  set(target jarvis_plugin_${P_NAME})

  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE Jarvis::sdk)
  if(P_COMPILE_DEFINITIONS)
    target_compile_definitions(${target} PRIVATE ${P_COMPILE_DEFINITIONS})
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${P_NAME}
    PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${dir}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    SKIP_BUILD_RPATH ON
    INSTALL_RPATH "")
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  # -fno-gnu-unique: let dlclose really unmap the library, so use-after-unload bugs surface.
  target_compile_options(${target} PRIVATE -fno-gnu-unique)
  # In the Jarvis tree: the precompiled SDK header of plugins built with these flags, named by the
  # caller's JARVIS_PLUGIN_PCH (cmake/JarvisPch.cmake; empty for a fixture that must not use it).
  if(JARVIS_PLUGIN_PCH AND TARGET ${JARVIS_PLUGIN_PCH})
    target_precompile_headers(${target} REUSE_FROM ${JARVIS_PLUGIN_PCH})
  endif()

  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E copy_if_different ${P_MANIFEST} ${dir}/plugin.yaml
    VERBATIM)
  if(P_MIGRATIONS)
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E rm -rf ${dir}/migrations
      COMMAND ${CMAKE_COMMAND} -E copy_directory ${P_MIGRATIONS} ${dir}/migrations
      VERBATIM)
  endif()

  if(install_folder)
    install(TARGETS ${target} LIBRARY DESTINATION ${JARVIS_PLUGIN_INSTALL_DIR}/${P_NAME})
    install(FILES ${P_MANIFEST} DESTINATION ${JARVIS_PLUGIN_INSTALL_DIR}/${P_NAME}
            RENAME plugin.yaml)
    if(P_MIGRATIONS)
      install(DIRECTORY ${P_MIGRATIONS}/ DESTINATION ${JARVIS_PLUGIN_INSTALL_DIR}/${P_NAME}/migrations)
    endif()
  endif()
endfunction()
