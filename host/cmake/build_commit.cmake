# host/cmake/build_commit.cmake — run by the `jarvis_build_commit` target at every build
# (cmake -P): writes the source tree's commit to OUT_HEADER (#define JARVIS_BUILD_COMMIT) and
# OUT_FILE (one line, installed as share/jarvis/commit), each only when its content changes, so a
# build without a new commit rebuilds nothing. "unknown" outside a git checkout (a source
# tarball) or without git. Decision 0076.
set(commit unknown)
find_program(GIT_EXECUTABLE git)
if(GIT_EXECUTABLE)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} rev-parse --verify -q HEAD
                  OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_QUIET
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(rc EQUAL 0 AND out MATCHES "^[0-9a-f]+$")
    set(commit ${out})
  endif()
endif()

function(write_if_changed path content)
  set(old "")
  if(EXISTS ${path})
    file(READ ${path} old)
  endif()
  if(NOT old STREQUAL content)
    file(WRITE ${path} "${content}")
  endif()
endfunction()

write_if_changed(${OUT_HEADER} "#pragma once\n#define JARVIS_BUILD_COMMIT \"${commit}\"\n")
write_if_changed(${OUT_FILE} "${commit}\n")
