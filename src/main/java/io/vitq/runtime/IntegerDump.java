package io.vitq.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vitq.io.DType;
import io.vitq.io.SafeTensors;
import io.vitq.quant.CodeForm;
import io.vitq.runtime.IntegerExecutor.OpForm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What the integer runtime computed for each quantized op, image by image, gathered for a
 * safetensors file ({@code vitq dump}). docs/INTEGER_LAYOUT.md describes the file; the names are
 * {@code <op id>.<part>}, every per-image tensor has the image as its first dimension.
 *
 * <p>Use: one {@link IntegerExecutor} built with this recorder (and the layout's GELU codes),
 * then for each image {@link #nextImage()} and a forward of that one image; then {@link #write}.
 */
public final class IntegerDump implements CodeRecorder {
    /** The large tensors, each of which can be left out; steps, biases and the layout are always written. */
    public enum Part { INPUTS, WEIGHTS, ACCUMULATORS, OUTPUTS }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final int images;
    private final Predicate<String> ops;
    private final Set<Part> parts;
    private final long maxBytes;
    private final Map<String, OpDump> dumps = new LinkedHashMap<>();
    private int image = -1;
    private long allocated;

    /** Thrown before an allocation that would take the dump past its byte limit. */
    public static final class TooLargeException extends RuntimeException {
        TooLargeException(String message) { super(message); }
    }

    /**
     * @param images   how many images will be run
     * @param ops      which op ids to keep (Linear ids, and an attention's matmul1 / matmul2 ids)
     * @param parts    which of the large tensors to keep
     * @param maxBytes the most the tensors may hold (all images: each op's arrays are allocated whole
     *                 when it first runs); beyond it, {@link TooLargeException}
     */
    public IntegerDump(int images, Predicate<String> ops, Set<Part> parts, long maxBytes) {
        if (images < 1) throw new IllegalArgumentException("images must be positive, got " + images);
        this.images = images;
        this.ops = ops;
        this.parts = parts.isEmpty() ? EnumSet.noneOf(Part.class) : EnumSet.copyOf(parts);
        this.maxBytes = maxBytes;
    }

    /** The next image's forward follows. */
    public void nextImage() {
        if (++image >= images) throw new IllegalStateException("more than the " + images + " images announced");
    }

    /** Op ids recorded so far, in forward order. */
    public Set<String> opIds() { return java.util.Collections.unmodifiableSet(dumps.keySet()); }

    /**
     * Bytes the ops' tensors take in the file: the per-image ones for all images announced (they are
     * allocated whole on first use) and each op's steps, weights and bias; the logits are not counted.
     */
    public long bytes() { return allocated; }

    /** A slab for all images, counted against the limit before it is allocated. */
    private Slab slab(String id, DType dtype, int... shape) {
        long n = images;
        for (int d : shape) n *= d;
        count(id, n * fileBytes(dtype));
        return new Slab(dtype, images, shape);
    }

    /** Bytes per value in the file: codes of 8 bits and fewer take one (held as ints until written). */
    private static int fileBytes(DType dtype) {
        return switch (dtype) {
            case I64 -> 8;
            case I8, U8 -> 1;
            default -> 4;
        };
    }

    /** Counts the file bytes of a slab about to be allocated against the limit (which keeps the file under 2 GiB). */
    private void count(String id, long bytes) {
        if (allocated + bytes > maxBytes)
            throw new TooLargeException(String.format(java.util.Locale.ROOT, "%s: the dump of %d image%s would write more than "
                    + "%.1f GiB: dump fewer images, fewer ops or leave out parts", id, images, images == 1 ? "" : "s",
                    maxBytes / (double) (1L << 30)));
        allocated += bytes;
    }

    // ---- what one op holds ----

    /** One tensor over all images: the per-image shape, its dtype in the file and the values. */
    private static final class Slab {
        final int[] shape;  // per image
        final DType dtype;
        final int perImage;
        int[] ints;
        long[] longs;
        float[] floats;

        Slab(DType dtype, int images, int... shape) {
            this.shape = shape;
            this.dtype = dtype;
            long n = 1;
            for (int s : shape) n *= s;
            if (n * images > Integer.MAX_VALUE - 8)
                throw new IllegalArgumentException("a dumped tensor of " + images + " x " + java.util.Arrays.toString(shape)
                        + " values is too large: dump fewer images or leave out parts");
            perImage = (int) n;
            switch (dtype) {
                case F32 -> floats = new float[perImage * images];
                case I64 -> longs = new long[perImage * images];
                default -> ints = new int[perImage * images];
            }
        }

        SafeTensors.Entry entry(int images) {
            int[] full = new int[shape.length + 1];
            full[0] = images;
            System.arraycopy(shape, 0, full, 1, shape.length);
            return switch (dtype) {
                case F32 -> SafeTensors.Entry.f32(floats, full);
                case I64 -> SafeTensors.Entry.i64(longs, full);
                case I32 -> SafeTensors.Entry.i32(ints, full);
                case I8 -> SafeTensors.Entry.i8(bytes(ints), full);
                case U8 -> SafeTensors.Entry.u8(bytes(ints), full);
                default -> throw new IllegalStateException(dtype.toString());
            };
        }

        private static byte[] bytes(int[] v) {
            byte[] b = new byte[v.length];
            for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
            return b;
        }
    }

    private abstract class OpDump {
        final Map<String, Slab> slabs = new LinkedHashMap<>();
        final Map<String, SafeTensors.Entry> fixed = new LinkedHashMap<>();
        final Map<String, Object> layout = new LinkedHashMap<>();
        int lastImage = -1;
        /** Output values recorded (every image must record all of its own: checked when written). */
        final java.util.concurrent.atomic.AtomicLong recorded = new java.util.concurrent.atomic.AtomicLong();
        long perImage;
    }

    /** The dtype of stored codes: int8 / uint8 up to 8 bits, int32 above. */
    private static DType codeType(CodeForm f, int bits) {
        if (f.storedBits(bits) > 8) return DType.I32;
        return f.storedLayout().equals("signed") ? DType.I8 : DType.U8;
    }

    private static DType sumType(OpForm form) { return form == OpForm.WIDE ? DType.I64 : DType.I32; }

    private static void putCodes(CodeForm f, int[] c0, int[] c1, int[] dst, int off) {
        for (int i = 0; i < c0.length; i++) dst[off + i] = f.storedCode(c0[i], c1 == null ? 0 : c1[i]);
    }

    private static void putSums(long[] acc, Slab s, int off) {
        if (s.longs != null) System.arraycopy(acc, 0, s.longs, off, acc.length);
        else for (int i = 0; i < acc.length; i++) s.ints[off + i] = Math.toIntExact(acc[i]);
    }

    private static Map<String, Object> codeLayout(CodeForm f, int bits) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layout", f.storedLayout());
        m.put("bits", bits);
        if (f.storedBits(bits) != bits) m.put("stored_bits", f.storedBits(bits));
        if (f.storedLayout().equals("unsigned")) m.put("zero_point", f.zeroPoint());
        if (f.components() == 2) m.put("shift", f.shift());
        return m;
    }

    // ---- Linear ----

    private final class LinearDump extends OpDump {
        final LinearOp op;
        final int rows;

        LinearDump(LinearOp op, int rows) {
            this.op = op;
            this.rows = rows;
            layout.put("kind", "linear");
            layout.put("form", op.form().name());
            layout.put("rows", rows);
            layout.put("in", op.in());
            layout.put("out", op.out());
            layout.put("input", codeLayout(op.input(), op.inputBits()));
            layout.put("weight_bits", op.weightBits());
            // asymmetric weights: the codes are q - z, so their range is each row's own, not the signed one of weight_bits
            layout.put("weight_codes", op.weightZeroPoint() == null ? "signed" : "minus weight_zero_point");
            layout.put("bias", op.bias() != null);
            boolean twoSums = op.input().components() == 2 && op.form() != OpForm.SHIFT;
            layout.put("sums", twoSums ? "fine and coarse" : op.form() == OpForm.SHIFT ? "combined" : "one");
            if (parts.contains(Part.INPUTS)) slabs.put("input", slab(op.id(), codeType(op.input(), op.inputBits()), rows, op.in()));
            if (parts.contains(Part.ACCUMULATORS)) {
                slabs.put("acc", slab(op.id(), sumType(op.form()), rows, op.out()));
                if (twoSums) slabs.put("acc_coarse", slab(op.id(), sumType(op.form()), rows, op.out()));
            }
            if (parts.contains(Part.OUTPUTS)) slabs.put("output", slab(op.id(), DType.F32, rows, op.out()));
            float[] units = new float[op.input().components()];
            for (int c = 0; c < units.length; c++) units[c] = op.input().unit(c);
            fixed.put("input_step", SafeTensors.Entry.f32(units, units.length));
            fixed.put("weight_step", SafeTensors.Entry.f32(op.weightStep().clone(), op.out()));
            if (op.weightZeroPoint() != null)
                fixed.put("weight_zero_point", SafeTensors.Entry.i32(op.weightZeroPoint().clone(), op.out()));
            if (op.bias() != null) fixed.put("bias", SafeTensors.Entry.f32(op.bias().clone(), op.out()));
            perImage = (long) rows * op.out();
            if (parts.contains(Part.WEIGHTS)) {
                short[] w = op.weightCodes();
                if (op.weightBits() <= 8) {
                    byte[] b = new byte[w.length];
                    for (int i = 0; i < w.length; i++) b[i] = (byte) w[i];
                    fixed.put("weight", SafeTensors.Entry.i8(b, op.out(), op.in()));
                } else {
                    fixed.put("weight", SafeTensors.Entry.i16(w.clone(), op.out(), op.in()));
                }
            }
            for (SafeTensors.Entry e : fixed.values()) count(op.id(), e.byteSize());
        }
    }

    @Override
    public void linearStarts(LinearOp op, int rows) {
        if (!ops.test(op.id())) return;
        OpDump d = dumps.computeIfAbsent(op.id(), k -> new LinearDump(op, rows));
        starts(d, op.id());
        if (((LinearDump) d).rows != rows)
            throw new IllegalArgumentException(op.id() + ": " + rows + " rows where the first image had " + ((LinearDump) d).rows
                    + " (dump one image per forward)");
    }

    private void starts(OpDump d, String id) {
        if (image < 0) throw new IllegalStateException("nextImage() before the first forward");
        if (d.lastImage == image) throw new IllegalStateException(id + " ran twice for one image: the dump keeps one call per op");
        d.lastImage = image;
    }

    @Override
    public void linearRows(String id, int r0, int n, int[] c0, int[] c1, long[] acc1, long[] acc2, float[] out) {
        if (!(dumps.get(id) instanceof LinearDump d)) return;
        LinearOp op = d.op;
        long base = (long) image * d.rows;
        Slab s;
        if ((s = d.slabs.get("input")) != null) putCodes(op.input(), c0, c1, s.ints, (int) ((base + r0) * op.in()));
        int o = (int) ((base + r0) * op.out());
        if ((s = d.slabs.get("acc")) != null) putSums(acc1, s, o);
        if ((s = d.slabs.get("acc_coarse")) != null) putSums(acc2, s, o);
        if ((s = d.slabs.get("output")) != null) System.arraycopy(out, 0, s.floats, o, n * op.out());
        d.recorded.addAndGet((long) n * op.out());
    }

    // ---- attention ----

    private final class MatmulDump extends OpDump {
        final Matmul op;
        final int groups;
        final boolean first;

        MatmulDump(Matmul op, boolean first, int groups) {
            this.op = op;
            this.first = first;
            this.groups = groups;
            int H = op.heads(), T = op.tokens(), d = op.headDim();
            layout.put("kind", first ? "matmul1" : "matmul2");
            layout.put("form", op.form().name());
            layout.put("groups", groups);
            layout.put("heads", H);
            layout.put("tokens", T);
            layout.put("head_dim", d);
            layout.put("a", codeLayout(op.a()[0], op.aBits()));
            layout.put("b", codeLayout(op.b()[0], op.bBits()));
            boolean twoSums = op.a()[0].components() == 2 && op.form() != OpForm.SHIFT;
            layout.put("sums", twoSums ? "fine and coarse" : op.form() == OpForm.SHIFT ? "combined" : "one");
            int aCols = first ? d : T, outCols = first ? T : d;
            if (parts.contains(Part.INPUTS)) {
                slabs.put("a", slab(op.id(), codeType(op.a()[0], op.aBits()), groups, H, T, aCols));
                slabs.put("b", slab(op.id(), codeType(op.b()[0], op.bBits()), groups, H, T, d));
            }
            if (parts.contains(Part.ACCUMULATORS)) {
                slabs.put("acc", slab(op.id(), sumType(op.form()), groups, H, T, outCols));
                if (twoSums) slabs.put("acc_coarse", slab(op.id(), sumType(op.form()), groups, H, T, outCols));
            }
            if (parts.contains(Part.OUTPUTS)) slabs.put("output", slab(op.id(), DType.F32, groups, H, T, outCols));
            int ca = op.a()[0].components();
            float[] aStep = new float[H * ca], bStep = new float[H];
            for (int h = 0; h < H; h++) {
                for (int c = 0; c < ca; c++) aStep[h * ca + c] = op.a()[h].unit(c);
                bStep[h] = op.b()[h].unit(0);
            }
            fixed.put("a_step", SafeTensors.Entry.f32(aStep, H, ca));
            fixed.put("b_step", SafeTensors.Entry.f32(bStep, H));
            for (SafeTensors.Entry e : fixed.values()) count(op.id(), e.byteSize());
            perImage = (long) groups * H * T * outCols;
        }

        /** Offset of (image, group, head) in a slab of {@code cols} columns. */
        int offset(int image, int g, int h, int cols) {
            return (int) ((((long) image * groups + g) * op.heads() + h) * op.tokens() * cols);
        }
    }

    @Override
    public void attentionStarts(Matmul matmul1, Matmul matmul2, int groups) {
        for (Matmul m : new Matmul[] {matmul1, matmul2}) {
            if (m == null || !ops.test(m.id())) continue;
            OpDump d = dumps.computeIfAbsent(m.id(), k -> new MatmulDump(m, m == matmul1, groups));
            starts(d, m.id());
            if (((MatmulDump) d).groups != groups)
                throw new IllegalArgumentException(m.id() + ": " + groups + " groups where the first image had " + ((MatmulDump) d).groups);
        }
    }

    @Override
    public void matmul1(String id, int group, int head, int[] q, int[] k, long[] acc, float[] scores) {
        if (!(dumps.get(id) instanceof MatmulDump d)) return;
        record(d, group, head, q, null, k, acc, null, scores);
    }

    @Override
    public void matmul2(String id, int group, int head, int[] p0, int[] p1, int[] v, long[] acc1, long[] acc2, float[] out) {
        if (!(dumps.get(id) instanceof MatmulDump d)) return;
        record(d, group, head, p0, p1, v, acc1, acc2, out);
    }

    private void record(MatmulDump d, int g, int h, int[] a0, int[] a1, int[] b, long[] acc1, long[] acc2, float[] out) {
        Matmul op = d.op;
        int T = op.tokens(), dim = op.headDim(), aCols = d.first ? dim : T, outCols = d.first ? T : dim;
        Slab s;
        if ((s = d.slabs.get("a")) != null) putCodes(op.a()[h], a0, a1, s.ints, d.offset(image, g, h, aCols));
        if ((s = d.slabs.get("b")) != null) putCodes(op.b()[h], b, null, s.ints, d.offset(image, g, h, dim));
        int o = d.offset(image, g, h, outCols);
        if ((s = d.slabs.get("acc")) != null) putSums(acc1, s, o);
        if ((s = d.slabs.get("acc_coarse")) != null) putSums(acc2, s, o);
        if ((s = d.slabs.get("output")) != null) System.arraycopy(out, 0, s.floats, o, T * outCols);
        d.recorded.addAndGet((long) T * outCols);
    }

    // ---- the file ----

    /**
     * Writes the file (atomically): every op's tensors, then {@code logits} when given, and the
     * metadata: {@code format}, each op's layout as JSON under {@code <op id>}, and {@code extra}.
     *
     * @param logits {@code [images x classes]} of the integer runtime, or null
     */
    public void write(Path out, float[] logits, int classes, Map<String, String> extra) throws IOException {
        if (image != images - 1) throw new IllegalStateException((image + 1) + " of the " + images + " images were run");
        Map<String, SafeTensors.Entry> entries = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "vitq-integer-dump/1");
        meta.put("images", Integer.toString(images));
        meta.putAll(extra);
        for (Map.Entry<String, OpDump> e : dumps.entrySet()) {
            String id = e.getKey();
            OpDump d = e.getValue();
            if (d.recorded.get() != d.perImage * images)
                throw new IllegalStateException(id + ": " + d.recorded.get() + " of " + d.perImage * images + " outputs recorded");
            d.fixed.forEach((k, v) -> entries.put(id + "." + k, v));
            d.slabs.forEach((k, v) -> entries.put(id + "." + k, v.entry(images)));
            meta.put(id, JSON.writeValueAsString(d.layout));
        }
        if (logits != null) entries.put("logits", SafeTensors.Entry.f32(logits, images, classes));
        long data = 0;
        for (SafeTensors.Entry e : entries.values()) data += e.byteSize();
        if (data > Integer.MAX_VALUE - (1L << 20)) // safetensors files over 2 GiB are not read back here
            throw new TooLargeException(String.format(java.util.Locale.ROOT, "the dump's tensors take %.2f GiB, over the 2 GiB "
                    + "a file can hold here: dump fewer images, fewer ops or leave out parts", data / (double) (1L << 30)));
        SafeTensors.write(out, entries, meta);
    }
}
