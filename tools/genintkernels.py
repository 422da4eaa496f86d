#!/usr/bin/env python3
"""Generates src/main/java/io/vitq/runtime/IntKernels.java (exact integer GEMM micro-kernels).

Usage (from the repository root; rewrites the Java file):  python3 tools/genintkernels.py

Every kernel computes an M x (V*32) tile of C = A . B over all K steps, exactly, in int32:
    C[r][j] = sum_k A[r][k] * B[k][j]        (C is overwritten, not accumulated into)
  A: row-major, a[aOff + r*lda + k]; bytes (int8 codes) for bMxV, ints for iMxV
  B: a packed int8 panel of width W = V*32 (PackedInt8): b[bOff + k*W + j]
  C: c[cOff + r*ldc + j] for j < W (the whole panel width; the caller's tile is padded)

bMxV (int8 x int8, ENGINE_NOTES section 2 design "I4"): per pair of k steps, B rows k and k+1
are widened byte -> short (B2S, 32 lanes), multiplied by the broadcast A codes in 16 bits
(vpmullw) and the two products summed in 16 bits, then widened short -> int (S2I, two halves)
into the int32 accumulators. Exact while a[k]*b[k] + a[k+1]*b[k+1] fits a short: always, except
when all four codes are -128 (sum 32768); Int8Gemm checks for that pair and falls back. An odd
last k step is done on its own.

iMxV (int32 x int8, design "I1"): B bytes widened to 16 int lanes (B2I), multiplied in 32 bits
(vpmulld). Exact while every partial sum fits an int; the caller checks the bound.

JIT rules followed (ENGINE_NOTES section 1): accumulators are local IntVector values only (never
stored in arrays or fields), every receiver is a species-typed value, no static final vectors,
and all C stores are written inline. An accumulator is never a receiver either: C2 gives a loop's
phi the declared type (IntVector), so a call on it binds only through a type profile, which a
kernel compiled without a tier-3 profile lacks (the calibration's integer search compiled i6x2 so:
its stores stayed calls, the accumulators were boxed in the loop, 5 GOPS instead of 160). So the
updates read x.mul(b).add(c) (the broadcast's product is the receiver), a widened 16-bit sum is
added to a species-typed zero first (a conversion's result has no exact type either; one more add
per update), and the stores go through IntVector.zero(IS).add(c). IntKernelsJitTest holds this.
"""
import os

MR = 6          # rows per tile (6 x 2 x 2 = 24 int accumulators for 64 columns)
NVS = (1, 2)    # panel widths in units of 32 columns

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                   "src/main/java/io/vitq/runtime/IntKernels.java")


def widened_add(r, j):
    """Row r's 16-bit sums p{j}, widened to int (two halves), added to its accumulators (a species-typed zero as the receiver)."""
    return (f"              c{r}_{j}l = IntVector.zero(IS).add(p{j}.convertShape(VectorOperators.S2I, IS, 0)).add(c{r}_{j}l); "
            f"c{r}_{j}h = IntVector.zero(IS).add(p{j}.convertShape(VectorOperators.S2I, IS, 1)).add(c{r}_{j}h);")


def byte_kernel(m, v):
    w = v * 32
    L = []
    L.append(f"    static void b{m}x{v}(byte[] a, int aOff, int lda, byte[] b, int bOff, int[] c, int cOff, int ldc, int k) {{")
    for r in range(m):
        for j in range(v):
            L.append(f"        IntVector c{r}_{j}l = IntVector.zero(IS), c{r}_{j}h = IntVector.zero(IS);")
    L.append("        final int k2 = k & ~1;")
    L.append("        for (int kk = 0; kk < k2; kk += 2) {")
    L.append(f"            final int bo = bOff + kk * {w};")
    for j in range(v):
        L.append(f"            final ShortVector b{j}e = (ShortVector) ByteVector.fromArray(B256, b, bo + {j * 32})"
                 f".convertShape(VectorOperators.B2S, SS, 0);")
        L.append(f"            final ShortVector b{j}o = (ShortVector) ByteVector.fromArray(B256, b, bo + {w + j * 32})"
                 f".convertShape(VectorOperators.B2S, SS, 0);")
    L.append("            final int ak = aOff + kk;")
    for r in range(m):
        idx = f"ak + {r} * lda" if r else "ak"
        L.append(f"            {{ final ShortVector xe = ShortVector.broadcast(SS, (short) a[{idx}]), "
                 f"xo = ShortVector.broadcast(SS, (short) a[{idx} + 1]);")
        for j in range(v):
            L.append(f"              final ShortVector p{j} = xe.mul(b{j}e).add(xo.mul(b{j}o));")
            L.append(widened_add(r, j))
        L.append("            }")
    L.append("        }")
    L.append("        if (k2 < k) { // odd last step")
    L.append(f"            final int bo = bOff + k2 * {w};")
    for j in range(v):
        L.append(f"            final ShortVector b{j}e = (ShortVector) ByteVector.fromArray(B256, b, bo + {j * 32})"
                 f".convertShape(VectorOperators.B2S, SS, 0);")
    L.append("            final int ak = aOff + k2;")
    for r in range(m):
        idx = f"ak + {r} * lda" if r else "ak"
        L.append(f"            {{ final ShortVector xe = ShortVector.broadcast(SS, (short) a[{idx}]);")
        for j in range(v):
            L.append(f"              final ShortVector p{j} = xe.mul(b{j}e);")
            L.append(widened_add(r, j))
        L.append("            }")
    L.append("        }")
    for r in range(m):
        row = "cOff" if r == 0 else f"cOff + {r} * ldc"
        for j in range(v):
            L.append(f"        IntVector.zero(IS).add(c{r}_{j}l).intoArray(c, {row} + {j * 32}); IntVector.zero(IS).add(c{r}_{j}h).intoArray(c, {row} + {j * 32 + 16});")
    L.append("    }")
    return "\n".join(L)


def int_kernel(m, v):
    w = v * 32
    nvec = 2 * v
    L = []
    L.append(f"    static void i{m}x{v}(int[] a, int aOff, int lda, byte[] b, int bOff, int[] c, int cOff, int ldc, int k) {{")
    for r in range(m):
        L.append("        IntVector " + ", ".join(f"c{r}_{j} = IntVector.zero(IS)" for j in range(nvec)) + ";")
    L.append("        for (int kk = 0; kk < k; kk++) {")
    L.append(f"            final int bo = bOff + kk * {w};")
    for j in range(nvec):
        L.append(f"            final IntVector b{j} = (IntVector) ByteVector.fromArray(B128, b, bo + {j * 16})"
                 f".convertShape(VectorOperators.B2I, IS, 0);")
    L.append("            final int ak = aOff + kk;")
    for r in range(m):
        idx = f"ak + {r} * lda" if r else "ak"
        acc = " ".join(f"c{r}_{j} = x.mul(b{j}).add(c{r}_{j});" for j in range(nvec))
        L.append(f"            {{ final IntVector x = IntVector.broadcast(IS, a[{idx}]); {acc} }}")
    L.append("        }")
    for r in range(m):
        row = "cOff" if r == 0 else f"cOff + {r} * ldc"
        L.append("        " + " ".join(f"IntVector.zero(IS).add(c{r}_{j}).intoArray(c, {row} + {j * 16});" for j in range(nvec)))
    L.append("    }")
    return "\n".join(L)


def dispatch(kind, atype):
    L = []
    L.append(f"    /** Runs kernel {{@code {kind}<mr>x<nv>}}: mr in 1..{MR} rows, nv in {{1, 2}} (panel width 32 or 64). */")
    L.append(f"    static void {'bytes' if kind == 'b' else 'ints'}(int mr, int nv, {atype}[] a, int aOff, int lda, byte[] b, int bOff,")
    L.append("            int[] c, int cOff, int ldc, int k) {")
    L.append("        switch (nv * 8 + mr) {")
    for v in NVS:
        for m in range(1, MR + 1):
            L.append(f"            case {v * 8 + m} -> {kind}{m}x{v}(a, aOff, lda, b, bOff, c, cOff, ldc, k);")
    L.append('            default -> throw new IllegalArgumentException("no kernel " + mr + "x" + nv);')
    L.append("        }")
    L.append("    }")
    return "\n".join(L)


def main():
    parts = ["""// GENERATED by tools/genintkernels.py -- do not edit by hand.
package io.vitq.runtime;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Exact integer GEMM micro-kernels over an int8 B panel (see {@link PackedInt8}): an M x (V*32)
 * tile of {@code C = A . B} in int32 over all K steps. {@code bMxV}: int8 A (16-bit products,
 * two k steps summed in 16 bits, widened into int32; exact unless a[k], a[k+1], b[k][j],
 * b[k+1][j] are all -128, which {@link Int8Gemm} rules out). {@code iMxV}: int32 A, 32-bit
 * products (exact while the caller's bound holds). Generated by {@code tools/genintkernels.py},
 * which documents the operands.
 */
final class IntKernels {
    static final VectorSpecies<Integer> IS = IntVector.SPECIES_512;
    static final VectorSpecies<Short> SS = ShortVector.SPECIES_512;
    static final VectorSpecies<Byte> B256 = ByteVector.SPECIES_256;
    static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    /** Rows per tile. */
    static final int MR = """ + str(MR) + """;

    private IntKernels() {}
"""]
    parts.append(dispatch("b", "byte"))
    parts.append("")
    parts.append(dispatch("i", "int"))
    for v in NVS:
        for m in range(1, MR + 1):
            parts.append("")
            parts.append(byte_kernel(m, v))
    for v in NVS:
        for m in range(1, MR + 1):
            parts.append("")
            parts.append(int_kernel(m, v))
    parts.append("}")
    with open(OUT, "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
