#!/usr/bin/env python3
"""Regenerates the decoder and resize fixtures in this folder (not needed to run the tests).

Needs Debian's python3-pil (Pillow 9.4, the oracle: it reproduces the golden input exactly),
python3-numpy, libjpeg-turbo-progs (cjpeg) and gcc with libjpeg-dev (for ycck.c).
Every expected output is what PIL itself returns: Image.open(f).convert("RGB") for decoding,
Image.resize for resizing; expected bytes are stored raw (.rgb = 8-bit RGB, row-major).
Run from this folder:  python3 make_fixtures.py /path/to/a/photo.JPEG
"""
import io, os, struct, subprocess, sys, zlib
import numpy as np
from PIL import Image

src = Image.open(sys.argv[1]).convert("RGB")
os.makedirs("decode", exist_ok=True)
os.makedirs("resize", exist_ok=True)

def expect(path):
    rgb = np.asarray(Image.open(path).convert("RGB"))
    rgb.tofile(os.path.splitext(path)[0] + ".rgb")

# ---- JPEG: a detailed 33x25 patch (odd sizes exercise the chroma upsampling at the edges)
patch = src.crop((100, 100, 232, 200)).resize((33, 25), Image.LANCZOS)
patch.save("decode/source.ppm")

def cjpeg(name, *opts):
    subprocess.run(["cjpeg", "-quality", "90", *opts, "-outfile", "decode/" + name, "decode/source.ppm"], check=True)
    expect("decode/" + name)

cjpeg("ycc420.jpg")                       # JFIF, 4:2:0 (the usual photo)
cjpeg("ycc422.jpg", "-sample", "2x1")
cjpeg("ycc444.jpg", "-sample", "1x1")
cjpeg("ycc440.jpg", "-sample", "1x2")      # 4:4:0: libjpeg 6b and libjpeg-turbo upsample differently
cjpeg("progressive.jpg", "-progressive")
cjpeg("gray.jpg", "-grayscale")
cjpeg("adobe_rgb.jpg", "-rgb")            # Adobe marker, transform 0: components are R,G,B
# No JFIF marker, ids 1,2,3, no subsampling: libjpeg-turbo (PIL) reads YCbCr, the JDK would guess RGB.
data = open("decode/ycc444.jpg", "rb").read()
assert data[2:4] == b"\xff\xe0"
app0_len = struct.unpack(">H", data[4:6])[0]
open("decode/nojfif_444.jpg", "wb").write(data[:2] + data[4 + app0_len:])
expect("decode/nojfif_444.jpg")
# Adobe CMYK (PIL writes Adobe-inverted CMYK with an APP14 marker, transform 0).
cmyk = patch.convert("CMYK")
arr = np.asarray(cmyk).copy()
arr[..., 3] = np.linspace(0, 160, arr.shape[1], dtype=np.uint8)[None, :]  # some black ink too
cmyk = Image.fromarray(arr, "CMYK")
cmyk.save("decode/adobe_cmyk.jpg", quality=90)
expect("decode/adobe_cmyk.jpg")
# YCCK (Adobe transform 2), written by libjpeg from the same Adobe-inverted CMYK bytes.
(255 - arr).astype(np.uint8).tofile("decode/cmyk.raw")
subprocess.run(["gcc", "-O1", "-o", "/tmp/ycck", "ycck.c", "-ljpeg"], check=True)
subprocess.run(["/tmp/ycck", "decode/cmyk.raw", "33", "25", "decode/adobe_ycck.jpg"], check=True)
os.remove("decode/cmyk.raw")
expect("decode/adobe_ycck.jpg")
os.remove("decode/source.ppm")

# ---- PNG: every colour type and bit depth, written by hand so nothing is left to an encoder
def png(name, width, height, color_type, bit_depth, rows, plte=None, trns=None):
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if plte is not None: out += chunk(b"PLTE", plte)
    if trns is not None: out += chunk(b"tRNS", trns)
    out += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open("decode/" + name, "wb").write(out)
    expect("decode/" + name)

W, H = 9, 7
rng = np.random.default_rng(7)
small = np.asarray(patch.resize((W, H), Image.BICUBIC)).astype(np.uint16)
gray8 = np.asarray(patch.resize((W, H), Image.BICUBIC).convert("L")).astype(np.uint16)

def pack_bits(values, bits):
    out = bytearray(); acc = 0; n = 0
    for v in values:
        acc = (acc << bits) | int(v); n += bits
        if n == 8: out.append(acc); acc = 0; n = 0
    if n: out.append(acc << (8 - n))
    return bytes(out)

for bits in (1, 2, 4):
    png("gray%d.png" % bits, W, H, 0, bits, [pack_bits(r >> (8 - bits), bits) for r in gray8])
png("gray8.png", W, H, 0, 8, [r.astype(np.uint8).tobytes() for r in gray8])
png("gray8_trns.png", W, H, 0, 8, [r.astype(np.uint8).tobytes() for r in gray8], trns=struct.pack(">H", int(gray8[0, 0])))
g16 = gray8 * 3 + rng.integers(0, 3, gray8.shape).astype(np.uint16)   # spans 0..767: PIL clips at 255
png("gray16.png", W, H, 0, 16, [r.astype(">u2").tobytes() for r in g16])
png("gray16_trns.png", W, H, 0, 16, [r.astype(">u2").tobytes() for r in g16], trns=struct.pack(">H", int(g16[0, 0])))
alpha = rng.integers(0, 256, (H, W)).astype(np.uint16)
png("la8.png", W, H, 4, 8, [np.stack([g, a], -1).astype(np.uint8).tobytes() for g, a in zip(gray8, alpha)])
png("la16.png", W, H, 4, 16, [np.stack([g * 257 + 13, a * 257], -1).astype(">u2").tobytes() for g, a in zip(gray8, alpha)])
png("rgb8.png", W, H, 2, 8, [r.astype(np.uint8).tobytes() for r in small])
png("rgb8_trns.png", W, H, 2, 8, [r.astype(np.uint8).tobytes() for r in small], trns=struct.pack(">HHH", *map(int, small[0, 0])))
big = small * 257 + rng.integers(0, 256, small.shape).astype(np.uint16)
png("rgb16.png", W, H, 2, 16, [r.astype(">u2").tobytes() for r in big])
png("rgba8.png", W, H, 6, 8, [np.concatenate([r, a[:, None]], -1).astype(np.uint8).tobytes() for r, a in zip(small, alpha)])
png("rgba16.png", W, H, 6, 16, [np.concatenate([r, a[:, None] * 257], -1).astype(">u2").tobytes() for r, a in zip(big, alpha)])
pal = rng.integers(0, 256, (16, 3)).astype(np.uint8)
idx = rng.integers(0, 16, (H, W))
png("palette8_trns.png", W, H, 3, 8, [r.astype(np.uint8).tobytes() for r in idx], plte=pal.tobytes(),
    trns=bytes(range(0, 256, 16)))
png("palette4.png", W, H, 3, 4, [pack_bits(r, 4) for r in idx], plte=pal.tobytes())

# ---- Resize: a 64x48 PNG source and PIL's resize of it to sizes that up- and downsample
base = src.resize((64, 48), Image.LANCZOS)
base.save("resize/source64x48.png")
cases = [(37, 29, "bicubic"), (20, 15, "bicubic"), (100, 75, "bicubic"), (64, 30, "bicubic"), (50, 48, "bicubic"),
         (7, 131, "bicubic"), (23, 41, "bilinear"), (130, 20, "bilinear"), (90, 17, "nearest"), (30, 30, "nearest")]
M = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "nearest": Image.NEAREST}
for w, h, f in cases:
    np.asarray(base.resize((w, h), M[f])).tofile("resize/%dx%d_%s.rgb" % (w, h, f))

# ---- The whole eval transform on the 64x48 source, timm 0.4.12 / torchvision 0.11 semantics
def eval_transform(img, size, crop_pct, mean, std):
    scale = int(np.floor(size / crop_pct))
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    if short != scale:
        new_long = int(scale * long / short)
        img = img.resize((scale, new_long) if w <= h else (new_long, scale), Image.BICUBIC)
    w, h = img.size
    if size > w or size > h:                    # torchvision pads with zeros first
        l, t = ((size - w) // 2 if size > w else 0), ((size - h) // 2 if size > h else 0)
        r, b = ((size - w + 1) // 2 if size > w else 0), ((size - h + 1) // 2 if size > h else 0)
        padded = Image.new("RGB", (w + l + r, h + t + b)); padded.paste(img, (l, t)); img = padded
        w, h = img.size
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    a = np.asarray(img.crop((left, top, left + size, top + size))).astype(np.float32) / np.float32(255)
    a = (a - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(a.transpose(2, 0, 1)).astype("<f4")

eval_transform(base, 32, 0.875, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)).tofile("resize/eval_32_0.875_imagenet.f32")
eval_transform(base, 30, 0.857, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)).tofile("resize/eval_30_0.857_inception.f32")   # top 2.5 -> 2
eval_transform(base, 40, 1.25, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)).tofile("resize/eval_40_1.25_inception.f32")     # zero padding
