package io.vitq.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The optional native int8 GEMM: {@code src/main/c/vitq_int8.c} (AVX-512 VNNI, {@code vpdpbusd}),
 * built by {@code scripts/build-native.sh} into the class path's {@code native/linux-x86_64/} when a C
 * compiler was there, called through the FFM API. Found, loaded and checked once: the library must
 * be present and loadable, its version must match, and its cpuid check must find AVX-512 F, BW and
 * VNNI. {@link #status()} says why it is or is not available.
 *
 * <p>The downcalls are {@link Linker.Option#critical(boolean) critical} with heap access: Java arrays
 * are passed without copying (the calls are short and never call back into Java).
 */
final class NativeInt8 {
    /** Where the build puts the library, relative to the class path root. */
    static final String RESOURCE = "/native/linux-x86_64/libvitqint8.so";
    /** The C file's {@code vitq_int8_version()}: bumped with any signature or layout change. */
    private static final int VERSION = 2;

    private static final MethodHandle GEMM, GEMM_UNSIGNED, PACK, PACKED_BYTES, PEAK;
    private static final String STATUS;

    static {
        MethodHandle gemm = null, gemmUnsigned = null, pack = null, packedBytes = null, peak = null;
        String status;
        try {
            Path lib = libraryPath();
            if (lib == null) {
                status = "native library not built (no " + RESOURCE.substring(1) + " on the class path: no C compiler at build "
                        + "time, not Linux x86-64, or -Dvitq.native.skip=true)";
            } else {
                Linker linker = Linker.nativeLinker();
                SymbolLookup symbols = SymbolLookup.libraryLookup(lib, Arena.global());
                MethodHandle cpuOk = linker.downcallHandle(symbols.findOrThrow("vitq_int8_cpu_ok"), FunctionDescriptor.of(JAVA_INT));
                MethodHandle version = linker.downcallHandle(symbols.findOrThrow("vitq_int8_version"), FunctionDescriptor.of(JAVA_INT));
                int v = (int) version.invokeExact();
                if (v != VERSION) {
                    status = "native library " + lib + " is version " + v + ", this code needs " + VERSION + " (rebuild)";
                } else if ((int) cpuOk.invokeExact() == 0) {
                    status = "this CPU lacks AVX-512 VNNI (cpuid: avx512f, avx512bw and avx512vnni are all needed)";
                } else {
                    Linker.Option critical = Linker.Option.critical(true);
                    gemm = linker.downcallHandle(symbols.findOrThrow("vitq_int8_gemm"), FunctionDescriptor.ofVoid(
                            ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), critical);
                    gemmUnsigned = linker.downcallHandle(symbols.findOrThrow("vitq_uint8_gemm"), FunctionDescriptor.ofVoid(
                            ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), critical);
                    pack = linker.downcallHandle(symbols.findOrThrow("vitq_int8_pack"), FunctionDescriptor.ofVoid(
                            ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS), critical);
                    packedBytes = linker.downcallHandle(symbols.findOrThrow("vitq_int8_packed_bytes"),
                            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_INT), critical);
                    peak = linker.downcallHandle(symbols.findOrThrow("vitq_int8_peak"), FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
                    URL url = NativeInt8.class.getResource(RESOURCE);
                    status = "native AVX-512 VNNI kernel (" + ("file".equals(url.getProtocol()) ? lib.toString()
                            : RESOURCE.substring(1) + " from the jar, run from a temporary copy") + ")";
                }
            }
        } catch (Throwable t) { // a broken or foreign library must never stop the Java kernels
            gemm = gemmUnsigned = pack = packedBytes = peak = null;
            status = "native library failed to load: " + t;
        }
        GEMM = gemm;
        GEMM_UNSIGNED = gemmUnsigned;
        PACK = pack;
        PACKED_BYTES = packedBytes;
        PEAK = peak;
        STATUS = status;
    }

    private NativeInt8() {}

    /** True when the library loaded and the CPU has VNNI. */
    static boolean available() { return GEMM != null; }

    /** Why the native kernel is or is not available (one line, for {@code vitq info}). */
    static String status() { return STATUS; }

    /**
     * The library as a file: the class path entry itself when it is a directory (tests, target/classes),
     * else (in a jar) copied to a temporary file deleted at exit; null when the build left it out.
     */
    private static Path libraryPath() throws IOException {
        URL url = NativeInt8.class.getResource(RESOURCE);
        if (url == null) return null;
        if ("file".equals(url.getProtocol())) return Path.of(URI.create(url.toString()));
        Path tmp = Files.createTempFile("vitqint8-", ".so");
        tmp.toFile().deleteOnExit();
        try (InputStream in = url.openStream()) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        return tmp;
    }

    /** Bytes of B (K x N) in the native packed layout. */
    static long packedBytes(int k, int n) {
        try {
            return (long) PACKED_BYTES.invokeExact(k, n);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Packs {@code B[kk][nn] = src[off + kk * rowStride + nn * colStride]} (K x N) into dst ({@link #packedBytes} long). */
    static void pack(byte[] src, long off, long rowStride, long colStride, int k, int n, byte[] dst) {
        try {
            PACK.invokeExact(MemorySegment.ofArray(src), off, rowStride, colStride, k, n, MemorySegment.ofArray(dst));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code C[i][j] = sum_k A[i][k] B[k][j]} for i < m, j < n; writes only the n columns of each row.
     * The caller has checked every view against its array.
     */
    static void gemm(byte[] a, int aOff, int lda, int m, byte[] packedB, int k, int n, int[] c, int cOff, int ldc) {
        try {
            GEMM.invokeExact(MemorySegment.ofArray(a), (long) aOff, lda, m, MemorySegment.ofArray(packedB), k, n,
                    MemorySegment.ofArray(c), (long) cOff, ldc);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The same for uint8 A (codes 0..255 in the bytes) and B in the signed layout
     * ({@link PackedInt8#vnniSignedPanels}): vpdpbusd's operands as they are, no correction.
     */
    static void gemmUnsigned(byte[] a, int aOff, int lda, int m, byte[] signedB, int k, int n, int[] c, int cOff, int ldc) {
        try {
            GEMM_UNSIGNED.invokeExact(MemorySegment.ofArray(a), (long) aOff, lda, m, MemorySegment.ofArray(signedB), k, n,
                    MemorySegment.ofArray(c), (long) cOff, ldc);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Runs {@code iters} rounds of 24 register-only {@code vpdpbusd} (the peak probe of docs/BENCHMARKS.md). */
    static long peak(long iters) {
        try {
            return (long) PEAK.invokeExact(iters);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
