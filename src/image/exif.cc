// JPEG marker scanning (EXIF orientation, Adobe APP14) and orientation transforms.
#include <libexif/exif-data.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "image/decode_internal.h"

namespace kamado::image::internal {
namespace {

struct ExifDataDeleter {
  void operator()(ExifData* data) const { exif_data_unref(data); }
};

}  // namespace

int ExifOrientation(std::span<const uint8_t> payload) {
  if (payload.size() < 6 || payload.size() > 65535) return 1;
  std::unique_ptr<ExifData, ExifDataDeleter> data(exif_data_new());
  if (!data) return 1;
  // Only IFD0's Orientation is needed: skip maker notes, and do not let libexif
  // "fix" the data (it would allocate default tags).
  exif_data_unset_option(data.get(), EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  exif_data_set_option(data.get(), EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE);
  exif_data_load_data(data.get(), payload.data(), static_cast<unsigned int>(payload.size()));
  ExifEntry* entry = exif_content_get_entry(data->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
  if (entry == nullptr || entry->format != EXIF_FORMAT_SHORT || entry->components < 1 ||
      entry->data == nullptr || entry->size < 2) {
    return 1;
  }
  const int v = exif_get_short(entry->data, exif_data_get_byte_order(data.get()));
  return v >= 1 && v <= 8 ? v : 1;
}

JpegMarkers ReadJpegMarkers(std::span<const uint8_t> bytes) {
  JpegMarkers out;
  bool have_exif = false;
  // SOI, then segments FF xx LL LL payload, until SOS (entropy data follows).
  size_t pos = 2;
  while (pos + 4 <= bytes.size()) {
    if (bytes[pos] != 0xFF) break;
    const uint8_t marker = bytes[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) break;  // SOS / EOI
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // no length
      pos += 2;
      continue;
    }
    const size_t length = (size_t{bytes[pos + 2]} << 8) | bytes[pos + 3];
    if (length < 2 || pos + 2 + length > bytes.size()) break;
    const std::span<const uint8_t> payload = bytes.subspan(pos + 4, length - 2);
    if (marker == 0xE1 && !have_exif && payload.size() >= 6 &&
        std::equal(payload.begin(), payload.begin() + 6, "Exif\0\0")) {
      out.orientation = ExifOrientation(payload);
      have_exif = true;
    } else if (marker == 0xEE && payload.size() >= 5 &&
               std::equal(payload.begin(), payload.begin() + 5, "Adobe")) {
      out.adobe = true;
    }
    pos += 2 + length;
  }
  return out;
}

void ApplyOrientation(Image& image, int orientation) {
  if (orientation <= 1 || orientation > 8) return;
  const int w = image.width, h = image.height;
  const bool swap = orientation >= 5;
  const int ow = swap ? h : w, oh = swap ? w : h;
  std::vector<uint8_t> out(image.rgb.size());
  for (int y = 0; y < oh; ++y) {
    for (int x = 0; x < ow; ++x) {
      // Displayed (x, y) <- stored (sx, sy), per the EXIF 2.3 definitions.
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sx = x; sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        case 8: sx = w - 1 - y; sy = x; break;
      }
      const uint8_t* s = &image.rgb[(size_t(sy) * w + sx) * 3];
      uint8_t* d = &out[(size_t(y) * ow + x) * 3];
      d[0] = s[0], d[1] = s[1], d[2] = s[2];
    }
  }
  image.rgb = std::move(out);
  image.width = ow;
  image.height = oh;
}

}  // namespace kamado::image::internal
