"""Real PDF, JPEG and PNG files built byte by byte (no imaging library), for the upload
tests: each is a complete, valid file a browser displays."""
import struct
import zlib


def png(width=4, height=4, shade=0x80):
    """A grey PNG: signature, IHDR, one zlib IDAT, IEND, each chunk with its CRC."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))  # filter 0, 8-bit grey
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg():
    """An 8x8 mid-grey baseline JPEG: one block whose DC difference and AC are all zero,
    with one-symbol Huffman tables (the scan is the bits 0, 0 padded with ones)."""
    def segment(marker, payload):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload
    dqt = segment(0xDB, b"\x00" + b"\x01" * 64)
    sof = segment(0xC0, b"\x08" + struct.pack(">HH", 8, 8) + b"\x01" + b"\x01\x11\x00")
    counts = b"\x01" + b"\x00" * 15
    dht_dc = segment(0xC4, b"\x00" + counts + b"\x00")   # DC: category 0
    dht_ac = segment(0xC4, b"\x10" + counts + b"\x00")   # AC: end of block
    sos = segment(0xDA, b"\x01" + b"\x01\x00" + b"\x00\x3f\x00")
    app0 = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    return b"\xff\xd8" + app0 + dqt + sof + dht_dc + dht_ac + sos + b"\x3f" + b"\xff\xd9"


def pdf(text="Tongban", padding=0):
    """A one-page PDF with `text` on it (cross-reference table with real offsets);
    `padding` bytes of a PDF comment make it as large as a test needs."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               None,
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    stream = f"BT /F1 18 Tf 20 40 Td ({text}) Tj ET".encode()
    objects[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    if padding:
        out += b"%" + b"0" * max(0, padding - 2) + b"\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_of_size(size, text="Tongban"):
    """A valid PDF of exactly `size` bytes (its padding comment adjusted)."""
    content = pdf(text, padding=size - len(pdf(text)))
    content = pdf(text, padding=size - len(pdf(text)) - (len(content) - size))
    assert len(content) == size, (len(content), size)
    return content
