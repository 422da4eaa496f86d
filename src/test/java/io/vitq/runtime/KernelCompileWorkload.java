package io.vitq.runtime;

/**
 * Child-JVM workload of {@link IntKernelsJitTest}: calls every {@link IntKernels} kernel (each
 * rows x panel-width form) {@code calls} times, the kinds in the order given ({@code bytes,ints}
 * or {@code ints,bytes}), so that C2 compiles each kernel after the other kind has run.
 */
final class KernelCompileWorkload {
    private KernelCompileWorkload() {}

    public static void main(String[] args) {
        int calls = Integer.parseInt(args[0]), k = 48;
        byte[] b = new byte[k * 64];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (i * 31 + 7);
        byte[] a = new byte[IntKernels.MR * k];
        int[] ai = new int[a.length];
        for (int i = 0; i < a.length; i++) ai[i] = a[i] = (byte) (i * 17 + 3);
        int[] c = new int[IntKernels.MR * 64];
        long sum = 0;
        for (String kind : args[1].split(","))
            for (int nv = 1; nv <= 2; nv++)
                for (int mr = 1; mr <= IntKernels.MR; mr++)
                    for (int n = 0; n < calls; n++) {
                        if (kind.equals("bytes")) IntKernels.bytes(mr, nv, a, 0, k, b, 0, c, 0, 64, k);
                        else IntKernels.ints(mr, nv, ai, 0, k, b, 0, c, 0, 64, k);
                        sum += c[0];
                    }
        System.out.println("done " + sum);
    }
}
