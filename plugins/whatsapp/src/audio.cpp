// whatsapp/src/audio.cpp — see audio.h.
#include "audio.h"

#include <opusfile.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>

namespace whatsapp {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<double> lowpass_taps() {
  constexpr int kTaps = 121;
  constexpr double kCutoff = 7200.0 / 48000.0;  // cycles per input sample
  std::vector<double> h(kTaps);
  double sum = 0;
  for (int i = 0; i < kTaps; ++i) {
    const double m = i - (kTaps - 1) / 2.0;
    const double sinc = m == 0 ? 2 * kCutoff : std::sin(2 * kPi * kCutoff * m) / (kPi * m);
    const double w = 0.42 - 0.5 * std::cos(2 * kPi * i / (kTaps - 1)) +
                     0.08 * std::cos(4 * kPi * i / (kTaps - 1));
    h[static_cast<std::size_t>(i)] = sinc * w;
    sum += h[static_cast<std::size_t>(i)];
  }
  for (double& v : h) v /= sum;  // unity gain at DC
  return h;
}

std::vector<std::int16_t> to_pcm16(const std::vector<float>& in) {
  std::vector<std::int16_t> out(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    float v = std::max(-1.0f, std::min(1.0f, in[i]));
    out[i] = static_cast<std::int16_t>(std::lround(v * 32767.0f));
  }
  return out;
}

std::optional<std::vector<float>> read_opus_48k_mono(const std::string& path, std::string* why) {
  int err = 0;
  std::unique_ptr<OggOpusFile, decltype(&op_free)> of(op_open_file(path.c_str(), &err), &op_free);
  if (!of) {
    *why = "not an OGG/Opus file (opusfile error " + std::to_string(err) + ")";
    return std::nullopt;
  }
  std::vector<float> mono;
  std::vector<float> buf(2 * 5760);
  for (;;) {
    int n = op_read_float_stereo(of.get(), buf.data(), static_cast<int>(buf.size()));
    if (n == OP_HOLE) continue;
    if (n < 0) {
      *why = "opus decoding failed (error " + std::to_string(n) + ")";
      return std::nullopt;
    }
    if (n == 0) break;
    for (int i = 0; i < n; ++i) {
      mono.push_back(
          0.5f * (buf[static_cast<std::size_t>(2 * i)] + buf[static_cast<std::size_t>(2 * i + 1)]));
    }
    if (mono.size() > 48000u * 60u * 30u) {  // 30 minutes is more than any voice note
      *why = "audio longer than 30 minutes";
      return std::nullopt;
    }
  }
  return mono;
}

std::uint32_t le32(const char* p) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(p[1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(p[2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(p[3])) << 24;
}
std::uint16_t le16(const char* p) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) |
                                    static_cast<unsigned char>(p[1]) << 8);
}

// PCM WAV (16-bit) → mono floats at its own rate.
std::optional<std::vector<float>> read_wav_mono(const std::string& path, int* rate,
                                                std::string* why) {
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 44 || data.compare(0, 4, "RIFF") != 0 || data.compare(8, 4, "WAVE") != 0) {
    *why = "not a WAV file";
    return std::nullopt;
  }
  int channels = 0;
  int bits = 0;
  std::size_t pos = 12;
  while (pos + 8 <= data.size()) {
    const std::string id = data.substr(pos, 4);
    const std::size_t len = le32(&data[pos + 4]);
    const std::size_t body = pos + 8;
    if (id == "fmt " && body + 16 <= data.size()) {
      if (le16(&data[body]) != 1) break;  // PCM only
      channels = le16(&data[body + 2]);
      *rate = static_cast<int>(le32(&data[body + 4]));
      bits = le16(&data[body + 14]);
    } else if (id == "data" && channels > 0 && bits == 16) {
      const std::size_t end = std::min(data.size(), body + len);
      std::vector<float> mono;
      for (std::size_t i = body; i + 2 * static_cast<std::size_t>(channels) <= end;
           i += 2 * static_cast<std::size_t>(channels)) {
        float sum = 0;
        for (int c = 0; c < channels; ++c) {
          sum += static_cast<float>(static_cast<std::int16_t>(le16(&data[i + 2 * c]))) / 32768.0f;
        }
        mono.push_back(sum / static_cast<float>(channels));
      }
      return mono;
    }
    pos = body + len + (len & 1);
  }
  *why = "unsupported WAV (16-bit PCM only)";
  return std::nullopt;
}

}  // namespace

std::vector<float> decimate_48k_to_16k(const std::vector<float>& in) {
  static const std::vector<double> h = lowpass_taps();
  const long taps = static_cast<long>(h.size());
  const long half = (taps - 1) / 2;
  std::vector<float> out;
  out.reserve(in.size() / 3 + 1);
  const long n_in = static_cast<long>(in.size());
  for (long n = 0; n * 3 < n_in; ++n) {
    const long centre = n * 3;
    double acc = 0;
    for (long k = 0; k < taps; ++k) {
      const long idx = centre + half - k;
      if (idx >= 0 && idx < n_in)
        acc += h[static_cast<std::size_t>(k)] * in[static_cast<std::size_t>(idx)];
    }
    out.push_back(static_cast<float>(acc));
  }
  return out;
}

std::optional<std::vector<std::int16_t>> decode_to_16k_mono(const std::string& path,
                                                            std::string* why) {
  char magic[4] = {};
  {
    std::ifstream in(path, std::ios::binary);
    in.read(magic, 4);
  }
  if (std::memcmp(magic, "OggS", 4) == 0) {
    auto mono = read_opus_48k_mono(path, why);
    if (!mono) return std::nullopt;
    return to_pcm16(decimate_48k_to_16k(*mono));
  }
  if (std::memcmp(magic, "RIFF", 4) == 0) {
    int rate = 0;
    auto mono = read_wav_mono(path, &rate, why);
    if (!mono) return std::nullopt;
    if (rate == 16000) return to_pcm16(*mono);
    if (rate == 48000) return to_pcm16(decimate_48k_to_16k(*mono));
    *why = "WAV at " + std::to_string(rate) + " Hz (16 or 48 kHz expected)";
    return std::nullopt;
  }
  *why = "unsupported audio container (OGG/Opus or WAV expected)";
  return std::nullopt;
}

}  // namespace whatsapp
