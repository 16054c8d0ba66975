#include "core/build_info.h"

#include <elf.h>
#include <link.h>

#include <cstring>

#include "core/build_info_generated.h"

namespace kamado {
namespace {

// The NT_GNU_BUILD_ID note of the main program (the first object
// dl_iterate_phdr reports), in hex.
int FindBuildId(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::string*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    const char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const char* name = p + sizeof(ElfW(Nhdr));
      const char* desc = name + ((note->n_namesz + 3) & ~3u);
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
        static const char kHex[] = "0123456789abcdef";
        for (uint32_t k = 0; k < note->n_descsz; ++k) {
          const auto b = static_cast<unsigned char>(desc[k]);
          out->push_back(kHex[b >> 4]);
          out->push_back(kHex[b & 15]);
        }
        return 1;
      }
      p = desc + ((note->n_descsz + 3) & ~3u);
    }
  }
  return 1;  // only the main program
}

}  // namespace

std::string BuildInfo::ToString() const {
  return "commit " + commit + "; flags " + flags + "; elf " + build_id;
}

const BuildInfo& CurrentBuild() {
  static const BuildInfo info = [] {
    BuildInfo b;
    b.commit = KAMADO_BUILD_COMMIT;
    b.flags = KAMADO_BUILD_FLAGS;
    dl_iterate_phdr(FindBuildId, &b.build_id);
    if (b.build_id.empty()) b.build_id = "none";
    return b;
  }();
  return info;
}

}  // namespace kamado
