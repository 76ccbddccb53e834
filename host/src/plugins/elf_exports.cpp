// host/src/plugins/elf_exports.cpp — bounds-checked reader of an ELF library's .dynsym (see
// elf_exports.h).
#include "plugins/elf_exports.h"

#include <elf.h>

#include <cstring>
#include <fstream>

namespace jarvis::host {

namespace {

#if defined(__x86_64__)
constexpr int kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kHostMachine = EM_AARCH64;
#elif defined(__riscv) && __riscv_xlen == 64
constexpr int kHostMachine = EM_RISCV;
#elif defined(__powerpc64__)
constexpr int kHostMachine = EM_PPC64;
#elif defined(__s390x__)
constexpr int kHostMachine = EM_S390;
#else
constexpr int kHostMachine = -1;
#endif

std::string machine_name(int m) {
  switch (m) {
    case EM_X86_64:
      return "x86_64";
    case EM_AARCH64:
      return "aarch64";
    case EM_386:
      return "i386";
    case EM_ARM:
      return "arm";
    case EM_RISCV:
      return "riscv";
    case EM_PPC64:
      return "ppc64";
    case EM_S390:
      return "s390x";
    default:
      return "machine " + std::to_string(m);
  }
}

/// Random access to the file with every read checked against its size.
class File {
 public:
  explicit File(const std::string& path) : in_(path, std::ios::binary) {
    if (!in_) throw ElfError("cannot open the file");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<std::uint64_t>(in_.tellg());
  }
  std::uint64_t size() const { return size_; }
  void read(std::uint64_t offset, void* out, std::uint64_t n) {
    if (offset > size_ || n > size_ - offset) throw ElfError("truncated or inconsistent ELF file");
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(static_cast<char*>(out), static_cast<std::streamsize>(n));
    if (!in_) throw ElfError("read error");
  }

 private:
  std::ifstream in_;
  std::uint64_t size_ = 0;
};

}  // namespace

std::string host_elf_machine() { return machine_name(kHostMachine); }

ElfExports read_elf_exports(const std::string& path) {
  File f(path);
  unsigned char ident[EI_NIDENT];
  if (f.size() < EI_NIDENT) throw ElfError("not an ELF file (too short)");
  f.read(0, ident, EI_NIDENT);
  if (std::memcmp(ident, ELFMAG, SELFMAG) != 0) throw ElfError("not an ELF file");
  if (ident[EI_CLASS] != ELFCLASS64) {
    throw ElfError(std::string("ELF class is ") +
                   (ident[EI_CLASS] == ELFCLASS32 ? "32" : "unknown") + "-bit, host is 64-bit");
  }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  constexpr unsigned char kHostData = ELFDATA2LSB;
#else
  constexpr unsigned char kHostData = ELFDATA2MSB;
#endif
  if (ident[EI_DATA] != kHostData) throw ElfError("ELF byte order differs from the host's");

  Elf64_Ehdr eh;
  f.read(0, &eh, sizeof eh);
  ElfExports out;
  out.machine = machine_name(eh.e_machine);
  if (eh.e_machine != kHostMachine) {
    throw ElfError("built for " + out.machine + ", host is " + host_elf_machine());
  }
  if (eh.e_type != ET_DYN)
    throw ElfError("not a shared library (ELF type " + std::to_string(eh.e_type) + ")");
  if (eh.e_shoff == 0 || eh.e_shnum == 0) throw ElfError("no section headers");
  if (eh.e_shentsize != sizeof(Elf64_Shdr)) throw ElfError("unexpected section header size");

  auto section = [&](std::uint64_t i) {
    Elf64_Shdr sh;
    f.read(eh.e_shoff + i * sizeof(Elf64_Shdr), &sh, sizeof sh);
    return sh;
  };
  bool found = false;
  for (std::uint64_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh = section(i);
    if (sh.sh_type != SHT_DYNSYM) continue;
    found = true;
    if (sh.sh_entsize != sizeof(Elf64_Sym)) throw ElfError("unexpected symbol entry size");
    if (sh.sh_link >= eh.e_shnum) throw ElfError("dynamic symbol table has no string table");
    Elf64_Shdr strsh = section(sh.sh_link);
    if (strsh.sh_size > f.size()) throw ElfError("truncated or inconsistent ELF file");
    std::string strtab(strsh.sh_size, '\0');
    f.read(strsh.sh_offset, strtab.data(), strsh.sh_size);
    const std::uint64_t count = sh.sh_size / sizeof(Elf64_Sym);
    if (sh.sh_size > f.size()) throw ElfError("truncated or inconsistent ELF file");
    std::vector<Elf64_Sym> syms(count);
    if (count) f.read(sh.sh_offset, syms.data(), count * sizeof(Elf64_Sym));
    for (const Elf64_Sym& s : syms) {
      const unsigned bind = ELF64_ST_BIND(s.st_info);
      const unsigned vis = ELF64_ST_VISIBILITY(s.st_other);
      if (s.st_shndx == SHN_UNDEF) continue;
      if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE) continue;
      if (vis != STV_DEFAULT && vis != STV_PROTECTED) continue;
      if (s.st_name == 0 || s.st_name >= strtab.size()) continue;
      const std::size_t end = strtab.find('\0', s.st_name);
      if (end == std::string::npos) throw ElfError("unterminated symbol name");
      out.symbols.push_back(strtab.substr(s.st_name, end - s.st_name));
    }
  }
  if (!found) throw ElfError("no dynamic symbol table (.dynsym)");
  return out;
}

}  // namespace jarvis::host
