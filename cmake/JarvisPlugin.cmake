# jarvis_add_plugin(NAME <name> SOURCES <src…> [MANIFEST <plugin.yaml>] [MIGRATIONS <dir>]
#                   [OUTPUT_DIR <dir>] [COMPILE_DEFINITIONS <defs…>])
#
# Builds a Jarvis plugin: a MODULE library lib<name>.so with hidden visibility and no undefined
# symbols, linked only to the SDK, and lays out the plugin folder <OUTPUT_DIR>/<name>/ with the
# library, plugin.yaml and migrations/. Works in the Jarvis tree and against the installed SDK
# (find_package(JarvisSDK)).
function(jarvis_add_plugin)
  cmake_parse_arguments(P "" "NAME;MANIFEST;MIGRATIONS;OUTPUT_DIR" "SOURCES;COMPILE_DEFINITIONS" ${ARGN})
  if(NOT P_NAME OR NOT P_SOURCES)
    message(FATAL_ERROR "jarvis_add_plugin: NAME and SOURCES are required")
  endif()
  if(NOT P_MANIFEST)
    set(P_MANIFEST ${CMAKE_CURRENT_SOURCE_DIR}/plugin.yaml)
  endif()
  if(NOT P_MIGRATIONS AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/migrations)
    set(P_MIGRATIONS ${CMAKE_CURRENT_SOURCE_DIR}/migrations)
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
    BUILD_RPATH "$ORIGIN/../../..;$ORIGIN/../../../lib"
    INSTALL_RPATH "$ORIGIN/../../..")
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  # -fno-gnu-unique: let dlclose really unmap the library, so use-after-unload bugs surface.
  target_compile_options(${target} PRIVATE -fno-gnu-unique)

  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E copy_if_different ${P_MANIFEST} ${dir}/plugin.yaml
    VERBATIM)
  if(P_MIGRATIONS)
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E rm -rf ${dir}/migrations
      COMMAND ${CMAKE_COMMAND} -E copy_directory ${P_MIGRATIONS} ${dir}/migrations
      VERBATIM)
  endif()
endfunction()
