// host/src/plugins/elf_exports.h — reads the exported symbol names of a shared library from its
// ELF dynamic symbol table without loading it (no plugin code runs, static constructors included).
//
// Why not boost::dll::library_info: Boost 1.74 reads only `.symtab`, which `strip` removes (an
// installed, stripped plugin then shows no symbols at all), and it does not bounds-check the file,
// so a truncated or hostile library could make the host read out of bounds. This reader uses
// `.dynsym` — the table the dynamic loader itself uses — and checks every offset.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace jarvis::host {

/// A library that is not a loadable ELF shared object for this host. what() is one short line.
class ElfError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What the host needs to know about a plugin library before loading it.
struct ElfExports {
  std::string machine;               ///< e.g. "x86_64"
  std::vector<std::string> symbols;  ///< defined, exported (default/protected visibility) names
};

/// Reads `path`. Throws ElfError for a file that is not an ELF shared object of the host's class,
/// byte order and machine (message e.g. "not an ELF file", "built for aarch64, host is x86_64"),
/// or that is truncated or inconsistent.
ElfExports read_elf_exports(const std::string& path);

/// The host's ELF machine name, e.g. "x86_64".
std::string host_elf_machine();

}  // namespace jarvis::host
