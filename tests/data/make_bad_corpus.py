#!/usr/bin/env python3
"""Writes the bad-input corpus tests/data/bad/ and its MANIFEST.tsv.

Python stdlib only; deterministic, so the committed files are what this script
writes (re-run it after editing; tests/image/bad_corpus_test.cc checks every
file against the manifest: file, expected StatusCode, message substring).
The two seeds are a 32x16 JPEG (TurboJPEG, 4:2:0, q75) and a 32x16 lossy WebP.
"""
import base64
import os
import struct
import sys
import zlib

SEED_JPEG = base64.b64decode("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAAQACADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDqF8TwCHZuGcVzGsn+092znNcC17d/acZbGa7vwyfP2+b+taRymGIj7dvUmpi3lz9nE5j/AIRifzt+04zXVaMf7Mxv4xXd/YrT7NnC5xXA+Jv3G7yv0rnebToP2CWhpTwccwXtJH//2Q==")
SEED_WEBP = base64.b64decode("UklGRpoAAABXRUJQVlA4II4AAABwBACdASogABAALmlIpFIiJaWlhYBoS2AE6ZQjgRYD7AUccC8Ba+ZdRuShsAD+9nJTZ1J1Gq2QxndAyZwbaSbs0ac6LHKabGSIHzdPlA/LmYo2D2VrkCGae1qNy2wFrhPcyn012fKsUVxQCqehawBN+yHPvS2YJPFjPc/KM73G/rL4iS5OOyxvXUmgj4wA")

INVALID, UNSUPPORTED = "InvalidArgument", "Unsupported"


def chunk(kind, data, crc=None):
    c = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", c & 0xFFFFFFFF)


def png(width, height, depth=8, colour=2, rows=None, idat=None, ihdr_crc=None):
    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    if idat is None:
        channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        row_bytes = (width * channels * depth + 7) // 8
        raw = b"".join(b"\x00" + bytes((x * 7 + y * 3) & 0xFF for x in range(row_bytes))
                       for y in range(height if rows is None else rows))
        idat = zlib.compress(raw, 9)
    return sig + chunk(b"IHDR", ihdr, ihdr_crc) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_with_size(width, height):
    """The seed with its SOF0 width/height replaced."""
    j = bytearray(SEED_JPEG)
    i = j.index(b"\xff\xc0")
    struct.pack_into(">HH", j, i + 5, height, width)
    return bytes(j)


def jpeg_corrupt_entropy():
    """Garbage markers inside the scan data."""
    j = bytearray(SEED_JPEG)
    sos = j.index(b"\xff\xda")
    start = sos + 2 + struct.unpack(">H", j[sos + 2:sos + 4])[0]
    for k in range(start + 10, len(j) - 2, 9):
        j[k] = 0xFF
        j[k + 1] = 0xD5  # RST5 out of sequence
    return bytes(j)


def cases():
    good_png = png(16, 8)
    yield "empty.bin", b"", INVALID, "empty image data (0 bytes)"
    yield "one_byte.bin", b"\xff", INVALID, "unrecognised image format (1 bytes starting FF)"
    yield "text.txt", b"just some text, not a picture\n", INVALID, "unrecognised image format"
    yield "page.html", b"<!DOCTYPE html><html><body><img src=x></body></html>\n", INVALID,         "unrecognised image format (53 bytes starting 3C 21 44 4F"
    yield "wrong_magic.png", b"\x88" + good_png[1:], INVALID, "unrecognised image format"
    yield "png_signature_only.png", good_png[:8], INVALID, "invalid PNG data"
    yield "png_truncated_header.png", good_png[:20], INVALID, "invalid PNG data"
    yield "png_truncated_body.png", good_png[:len(good_png) - 30], INVALID, "invalid PNG data"
    yield "png_zero_width.png", png(0, 8, idat=b""), INVALID, "invalid PNG data (IHDR)"
    yield "png_bad_crc.png", png(16, 8, ihdr_crc=0x12345678), INVALID, "invalid PNG data"
    idat = bytearray(zlib.compress(bytes(17 * 8 * 3), 9))
    idat[4:12] = b"\xde\xad\xbe\xef\xde\xad\xbe\xef"
    yield "png_corrupt_idat.png", png(16, 8, idat=bytes(idat)), INVALID, "invalid PNG data (image data)"
    yield "png_60000x60000.png", png(60000, 60000, idat=zlib.compress(b"\x00" * 1000)), INVALID,         "60000x60000 = 3600000000 pixels, over the limit of 100000000 pixels (max_pixels)"
    # A decompression bomb: 1-bit, 50000x50000 (2.5 G pixels); the IDAT holds
    # 64 real rows of zeros. Refused from the header before any allocation.
    yield "png_bomb_1bit.png", png(50000, 50000, depth=1, colour=0, rows=64), INVALID, "(max_pixels)"
    # Within max_pixels but 12 bytes per pixel to decode (RGBA16 buffer + RGBA8 result): 1.2 GB.
    yield "png_16bit_rgba_10000x10000.png", png(10000, 10000, depth=16, colour=6, idat=zlib.compress(b"\x00" * 1000)), INVALID, \
        "10000x10000 and needs 12 bytes per pixel to decode, over the limit of 536870912 bytes (max_decode_bytes)"
    yield "png_too_wide.png", png(70000, 1, idat=zlib.compress(b"\x00" * 1000)), INVALID, "pixels per side, max_dimension"
    yield "png_bad_colour_type.png", png(4, 4, depth=8, colour=5, idat=b""), INVALID,         "invalid PNG data (IHDR)"
    yield "jpeg_soi_only.jpg", b"\xff\xd8\xff", INVALID, "invalid JPEG header"
    yield "jpeg_truncated_header.jpg", SEED_JPEG[:120], INVALID, "invalid JPEG header"
    yield "jpeg_truncated_body.jpg", SEED_JPEG[:len(SEED_JPEG) - 60], INVALID, "JPEG data"
    yield "jpeg_corrupt_entropy.jpg", jpeg_corrupt_entropy(), INVALID, "JPEG data"
    yield "jpeg_zero_width.jpg", jpeg_with_size(0, 16), INVALID, "invalid JPEG header"
    yield "jpeg_65000x65000.jpg", jpeg_with_size(65000, 65000), INVALID, "(max_pixels)"
    yield "webp_riff_only.webp", SEED_WEBP[:12], INVALID, "invalid WebP header"
    yield "webp_truncated.webp", SEED_WEBP[:len(SEED_WEBP) // 2], INVALID, "WebP"
    bad_vp8 = bytearray(SEED_WEBP)
    bad_vp8[23:26] = b"\x00\x00\x00"  # the VP8 frame start code
    yield "webp_bad_bitstream.webp", bytes(bad_vp8), INVALID, "invalid WebP header"
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x02, 0, 0, 0]) + b"\x1f\x00\x00\x0f\x00\x00"
    yield "webp_animated.webp", b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x,         UNSUPPORTED, "unsupported image format animated WebP"
    yield "image.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04"         b"\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",         UNSUPPORTED, "unsupported image format GIF"
    bmp_pixels = b"\x00\x00\xff\x00"
    bmp = b"BM" + struct.pack("<IHHI", 14 + 40 + len(bmp_pixels), 0, 0, 54) +         struct.pack("<IiiHHIIiiII", 40, 1, 1, 1, 24, 0, len(bmp_pixels), 2835, 2835, 0, 0) + bmp_pixels
    yield "image.bmp", bmp, UNSUPPORTED, "unsupported image format BMP"
    yield "image_le.tif", b"II*\x00\x08\x00\x00\x00" + bytes(16), UNSUPPORTED, "unsupported image format TIFF"
    yield "image_be.tif", b"MM\x00*\x00\x00\x00\x08" + bytes(16), UNSUPPORTED, "unsupported image format TIFF"
    yield "image.heic", struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + bytes(8),         UNSUPPORTED, "unsupported image format HEIC"
    yield "image.avif", struct.pack(">I", 28) + b"ftypavif" + b"\x00\x00\x00\x00avifmif1miaf" + bytes(8),         UNSUPPORTED, "unsupported image format AVIF"


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad")
    os.makedirs(out_dir, exist_ok=True)
    lines = ["# file\texpected StatusCode\tmessage substring (tests/image/bad_corpus_test.cc)"]
    for name, data, code, needle in cases():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        lines.append(f"{name}\t{code}\t{needle}")
    with open(os.path.join(out_dir, "MANIFEST.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
