"""A fast check that image bytes are a complete, readable image, without decoding pixels.

Decoding every image would cost more than reading it (several ms for a full-size
ImageNet JPEG); the failures real copies show are truncated downloads and files that
are not images at all. So a JPEG must end with its end-of-image marker (entropy-coded
data cannot contain that marker, so only a complete file ends with it) and its
segments must chain from the start-of-image marker to a frame header that gives a
size and 1, 3 or 4 channels; a PNG must start with its IHDR chunk and end with IEND;
any other format must have a header that Pillow can parse. A file that fails these
quick tests is decoded in full before it is called unreadable, so an unusual but
intact file (trailing data after the end marker, say) is never refused.

>>> import io
>>> from PIL import Image
>>> buffer = io.BytesIO()
>>> Image.new("RGB", (8, 8)).save(buffer, "JPEG")
>>> image_problem(buffer.getvalue()) is None
True
>>> image_problem(buffer.getvalue()[:300])
'truncated JPEG: no end-of-image marker'
>>> image_problem(b"<html>not found</html>")
'not an image: cannot identify image file'
>>> image_problem(buffer.getvalue() + bytes(2000))  # intact, with trailing padding
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

_JPEG = b"\xff\xd8"
_PNG = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers: every JPEG coding process except the DHT/JPG/DAC codes.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}


def _jpeg_problem(data: bytes) -> str | None:
    # Some encoders pad after the marker; a few hundred bytes of slack covers them.
    if b"\xff\xd9" not in data[-512:]:
        return "truncated JPEG: no end-of-image marker"
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return f"damaged JPEG header: no marker at byte {pos}"
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == 0xDA:
            return "damaged JPEG: scan data before any frame header"
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > end:
            return f"damaged JPEG header: bad segment length at byte {pos}"
        if marker in _SOF:
            if length < 8:
                return "damaged JPEG frame header"
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            channels = data[pos + 9]
            if width == 0 or channels not in (1, 3, 4):
                return f"damaged JPEG frame header: width {width}, {channels} channels"
            return None
        pos += 2 + length
    return "damaged JPEG header: no frame header"


def _png_problem(data: bytes) -> str | None:
    if data[12:16] != b"IHDR" or len(data) < 33:
        return "damaged PNG: no IHDR chunk"
    if int.from_bytes(data[16:20], "big") == 0 or int.from_bytes(data[20:24], "big") == 0:
        return "damaged PNG: image with no pixels"
    if b"IEND" not in data[-64:]:
        return "truncated PNG: no IEND chunk"
    return None


def _decodes(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        return True
    except Exception:  # any failure to decode is the answer, whatever its type
        return False


def image_problem(data: bytes) -> str | None:
    """None when ``data`` looks like a complete image; otherwise what is wrong with it."""
    if not data:
        return "empty file"
    if data.startswith(_JPEG):
        problem = _jpeg_problem(data)
        return problem if problem is None or not _decodes(data) else None
    if data.startswith(_PNG):
        problem = _png_problem(data)
        return problem if problem is None or not _decodes(data) else None
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width <= 0 or image.height <= 0:
                return "image with no pixels"
    except UnidentifiedImageError:
        return "not an image: cannot identify image file"
    except (OSError, SyntaxError, ValueError) as err:
        return f"unreadable image header: {err}"
    return None
