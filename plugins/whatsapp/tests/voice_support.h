// whatsapp/tests/voice_support.h — test audio: Debian's pocketsphinx-testdata recording
// "go forward ten meters" (16 kHz 16-bit mono raw) encoded to OGG/Opus with opusenc, as a
// WhatsApp voice note would arrive.
//
//   std::string ogg = goforward_ogg(dir);   // bytes of an OGG/Opus file ("" + test failure)
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "jarvis/subprocess.h"
#include "support/support.h"

namespace wa_test {

inline const std::string kGoForwardRaw = "/usr/share/pocketsphinx/test/data/goforward.raw";

/// Encodes the recording with `opusenc` into `dir` and returns the OGG bytes.
inline std::string goforward_ogg(const jarvis::test::TempDir& dir) {
  const std::string out = dir.file("goforward.ogg");
  jarvis::ProcessResult r =
      jarvis::run_process({.argv = {"opusenc", "--quiet", "--raw", "--raw-rate", "16000",
                                    "--raw-chan", "1", "--raw-bits", "16", kGoForwardRaw, out},
                           .timeout_ms = 60000});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  if (r.exit_code != 0) return "";
  return jarvis::test::read_file(out);
}

}  // namespace wa_test
