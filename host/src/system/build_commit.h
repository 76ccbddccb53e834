// host/src/system/build_commit.h — which commit this host runs, for /readyz, the status route and
// `jarvis version` (decision 0076). A self-update's verify compares it with the commit it built.
//
//   body["commit"] = jarvis::host::running_commit();   // "3f2a…" (40 hex) or "unknown"
//
// The install's record wins: <root>/share/jarvis/commit (one line, written by `cmake --install`
// from the build, or by whatever installed the release) next to the running executable — so a
// release reports the commit it was installed as, and the build tree's binary the one it was
// built from. Without that file (or with one that is not a hex commit) the commit compiled in
// at build time; "unknown" when the build was not made from a git checkout.
#pragma once

#include <string>

namespace jarvis::host {

/// The commit compiled into this binary ("unknown" outside a git checkout).
std::string build_commit();

/// The commit reported as running (see the file comment). Read once per process; thread-safe.
std::string running_commit();

}  // namespace jarvis::host
