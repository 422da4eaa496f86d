package io.vitq.data;

/**
 * What a JPEG's markers say about its colours, read from the bytes before the first scan: the
 * number of components, their ids, and whether a JFIF (APP0) or Adobe (APP14) marker is present.
 * From these, {@link #colorSpace()} picks the colour space exactly as libjpeg-turbo's
 * {@code default_decompress_parms} does (the decoder PIL uses). We need our own copy of that rule
 * because the JDK's reader applies a different guess to marker-less files (3 components with no
 * subsampling are taken as RGB, libjpeg-turbo takes component ids 1,2,3 as YCbCr).
 */
record JpegHeader(int width, int height, int components, int[] componentIds, int[] hSampling, int[] vSampling,
                  boolean jfif, int adobeTransform) {

    /** Adobe transform value when there is no Adobe marker. */
    static final int NO_ADOBE = -1;

    enum ColorSpace { GRAYSCALE, YCBCR, RGB, CMYK, YCCK }

    ColorSpace colorSpace() {
        return switch (components) {
            case 1 -> ColorSpace.GRAYSCALE;
            case 3 -> {
                if (jfif) yield ColorSpace.YCBCR;
                if (adobeTransform != NO_ADOBE) yield adobeTransform == 0 ? ColorSpace.RGB : ColorSpace.YCBCR;
                boolean rgbIds = componentIds[0] == 'R' && componentIds[1] == 'G' && componentIds[2] == 'B';
                yield rgbIds ? ColorSpace.RGB : ColorSpace.YCBCR;
            }
            case 4 -> adobeTransform == NO_ADOBE || adobeTransform == 0 ? ColorSpace.CMYK : ColorSpace.YCCK;
            default -> throw new IllegalArgumentException("JPEG with " + components + " components is not supported");
        };
    }

    /**
     * Scans the markers from SOI up to the first SOS.
     *
     * @throws IllegalArgumentException with a short reason if the marker structure is broken
     */
    static JpegHeader parse(byte[] b) {
        if (b.length < 4 || (b[0] & 0xff) != 0xFF || (b[1] & 0xff) != 0xD8) {
            throw new IllegalArgumentException("not a JPEG (no SOI marker)");
        }
        boolean jfif = false;
        int adobe = NO_ADOBE;
        int width = -1, height = -1, components = -1;
        int[] ids = null, hSampling = null, vSampling = null;
        int pos = 2;
        while (true) {
            // Markers are 0xFF followed by a code; any number of 0xFF fill bytes may precede the code.
            if (pos >= b.length || (b[pos] & 0xff) != 0xFF) {
                throw new IllegalArgumentException("corrupt JPEG (expected a marker at byte " + pos + ")");
            }
            while (pos < b.length && (b[pos] & 0xff) == 0xFF) pos++;
            if (pos >= b.length) throw new IllegalArgumentException("truncated JPEG header");
            int marker = b[pos++] & 0xff;
            if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue; // no payload
            if (marker == 0xD9) throw new IllegalArgumentException("JPEG without image data (EOI before SOS)");
            if (pos + 2 > b.length) throw new IllegalArgumentException("truncated JPEG header");
            int len = ((b[pos] & 0xff) << 8) | (b[pos + 1] & 0xff);
            int data = pos + 2, dataLen = len - 2;
            if (len < 2 || data + dataLen > b.length) throw new IllegalArgumentException("truncated JPEG header");
            if (marker == 0xDA) { // SOS: libjpeg has decided the colour space by now
                if (components < 0) throw new IllegalArgumentException("corrupt JPEG (SOS before SOF)");
                return new JpegHeader(width, height, components, ids, hSampling, vSampling, jfif, adobe);
            }
            if (marker == 0xE0 && dataLen >= 14 && startsWith(b, data, "JFIF\0")) {
                jfif = true;
            } else if (marker == 0xEE && dataLen >= 12 && startsWith(b, data, "Adobe")) {
                adobe = b[data + 11] & 0xff;
            } else if (isStartOfFrame(marker)) {
                if (dataLen < 6) throw new IllegalArgumentException("corrupt JPEG (short SOF)");
                height = ((b[data + 1] & 0xff) << 8) | (b[data + 2] & 0xff);
                width = ((b[data + 3] & 0xff) << 8) | (b[data + 4] & 0xff);
                components = b[data + 5] & 0xff;
                if (dataLen < 6 + 3 * components) throw new IllegalArgumentException("corrupt JPEG (short SOF)");
                ids = new int[components];
                hSampling = new int[components];
                vSampling = new int[components];
                for (int i = 0; i < components; i++) {
                    ids[i] = b[data + 6 + 3 * i] & 0xff;
                    hSampling[i] = (b[data + 7 + 3 * i] & 0xff) >> 4;
                    vSampling[i] = b[data + 7 + 3 * i] & 0x0f;
                }
            }
            pos = data + dataLen;
        }
    }

    private static boolean isStartOfFrame(int m) {
        return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; // not DHT, JPG, DAC
    }

    private static boolean startsWith(byte[] b, int at, String ascii) {
        for (int i = 0; i < ascii.length(); i++) {
            if (b[at + i] != (byte) ascii.charAt(i)) return false;
        }
        return true;
    }
}
