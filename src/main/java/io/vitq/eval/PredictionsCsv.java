package io.vitq.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the predictions CSV that {@link Reports#writePredictions} writes ({@code vitq eval --predictions}):
 * a header, then per image its path (quoted when it holds a comma, quote or line break), label, top-5
 * classes and their probabilities. Anything else is refused with the file and line.
 */
public final class PredictionsCsv {
    static final String HEADER = "path,label,top1,top2,top3,top4,top5,p1,p2,p3,p4,p5";
    private static final int FIELDS = 12;

    private PredictionsCsv() {}

    /** A file that is not a predictions CSV, with the file and line in its message. */
    public static final class FormatException extends IOException {
        FormatException(String message) { super(message); }
    }

    public static List<Prediction> read(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new FormatException(file + ": not a predictions CSV of 'vitq eval --predictions' (binary data, not text)");
        }
        List<Prediction> out = new ArrayList<>();
        int pos = 0, line = 1;
        boolean header = true;
        while (pos < text.length()) {
            int startLine = line;
            List<String> fields = new ArrayList<>();
            StringBuilder field = new StringBuilder();
            boolean quoted = false, wasQuoted = false;
            for (; ; pos++) {
                if (pos == text.length()) {
                    if (quoted) throw new FormatException(file + ": line " + startLine + ": a quoted path is not closed");
                    break;
                }
                char ch = text.charAt(pos);
                if (quoted) {
                    if (ch == '"' && pos + 1 < text.length() && text.charAt(pos + 1) == '"') {
                        field.append('"');
                        pos++;
                    } else if (ch == '"') {
                        quoted = false;
                    } else {
                        if (ch == '\n') line++;
                        field.append(ch);
                    }
                } else if (ch == '"' && field.isEmpty() && !wasQuoted) {
                    quoted = wasQuoted = true;
                } else if (ch == ',') {
                    fields.add(field.toString());
                    field.setLength(0);
                    wasQuoted = false;
                } else if (ch == '\r' && pos + 1 < text.length() && text.charAt(pos + 1) == '\n') {
                    // a Windows line end: the '\n' ends the line
                } else if (ch == '\n') {
                    line++;
                    pos++;
                    break;
                } else {
                    field.append(ch);
                }
            }
            fields.add(field.toString());
            if (!header && fields.size() == 1 && !wasQuoted && fields.get(0).isBlank()) continue; // a blank line, e.g. at the end
            if (header) {
                if (!String.join(",", fields).equals(HEADER))
                    throw new FormatException(file + ": not a predictions CSV of 'vitq eval --predictions' (its first line should be '"
                            + HEADER + "')");
                header = false;
                continue;
            }
            if (fields.size() != FIELDS)
                throw new FormatException(file + ": line " + startLine + ": " + fields.size()
                        + (fields.size() == 1 ? " field" : " fields") + ", expected " + FIELDS);
            String at = file + ": line " + startLine + ": ";
            int[] classes = new int[5];
            float[] probs = new float[5];
            int label = integer(fields, 1, -1, at);
            for (int i = 0; i < 5; i++) {
                classes[i] = integer(fields, 2 + i, 0, at);
                probs[i] = probability(fields, 7 + i, at);
            }
            out.add(new Prediction(fields.get(0), label, new TopK(classes, probs)));
        }
        if (header) throw new FormatException(file + ": empty (no header line)");
        return out;
    }

    /** Field {@code i}, an integer of at least {@code min} (a label of -1 is an unlabelled image). */
    private static int integer(List<String> fields, int i, int min, String at) throws FormatException {
        String v = fields.get(i);
        try {
            int n = Integer.parseInt(v);
            if (n >= min) return n;
        } catch (NumberFormatException e) {
            // named below
        }
        throw new FormatException(at + column(i) + " '" + v + "' is not " + (min < 0 ? "a label (a class index, or -1)" : "a class index"));
    }

    /** Field {@code i}, a probability in [0, 1]. */
    private static float probability(List<String> fields, int i, String at) throws FormatException {
        String v = fields.get(i);
        try {
            float p = Float.parseFloat(v);
            if (p >= 0 && p <= 1) return p;
        } catch (NumberFormatException e) {
            // named below
        }
        throw new FormatException(at + column(i) + " '" + v + "' is not a probability in [0, 1]");
    }

    private static String column(int i) { return HEADER.split(",")[i]; }
}
