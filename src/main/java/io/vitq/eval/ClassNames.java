package io.vitq.eval;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** ImageNet-1k class names in timm/torchvision order (sorted wnids). */
public final class ClassNames {
    private static final List<String> NAMES = load();

    private ClassNames() {}

    private static List<String> load() {
        List<String> l = new ArrayList<>();
        try (InputStream in = ClassNames.class.getResourceAsStream("/io/vitq/imagenet_synsets.txt")) {
            if (in == null) return l;
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                int sp = line.indexOf(' ');
                l.add(sp > 0 ? line.substring(sp + 1) : line);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the bundled class names", e);
        }
        return l;
    }

    /** Whether a model of {@code numClasses} classes without names of its own is given ImageNet's (1000 classes). */
    public static boolean imageNetNames(int numClasses) { return numClasses == NAMES.size(); }

    /** Class {@code i}'s name: the model's own ({@code own}, empty when it has none), else {@link #name(int, int)}. */
    public static String name(java.util.List<String> own, int i, int numClasses) {
        return own.isEmpty() ? name(i, numClasses) : own.get(i);
    }

    /** The ImageNet name of class {@code i} when the model has 1000 classes, else "class i". */
    public static String name(int i, int numClasses) {
        if (imageNetNames(numClasses) && i >= 0 && i < NAMES.size()) return NAMES.get(i);
        return "class " + i;
    }
}
