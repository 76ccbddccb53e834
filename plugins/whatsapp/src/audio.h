// whatsapp/src/audio.h — voice-note audio to what a speech recogniser wants: OGG/Opus (or PCM
// WAV) decoded in-process with libopusfile and brought to 16 kHz mono 16-bit PCM by a windowed-
// sinc low-pass decimator (48 kHz → 16 kHz, 3:1). No external program, no temporary file.
//
//   std::string why;
//   auto pcm = decode_to_16k_mono("/var/media/wmd_1.ogg", &why);   // nullopt + why on failure
//   double seconds = pcm->size() / 16000.0;
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace whatsapp {

/// Decodes an OGG/Opus or 16-bit PCM WAV file (16 or 48 kHz, any channel count) to 16 kHz mono.
std::optional<std::vector<std::int16_t>> decode_to_16k_mono(const std::string& path,
                                                            std::string* why);

/// 48 kHz mono → 16 kHz mono: FIR low-pass (cut-off 7.2 kHz, Blackman window, 121 taps) and
/// keeping every third sample.
std::vector<float> decimate_48k_to_16k(const std::vector<float>& in);

}  // namespace whatsapp
