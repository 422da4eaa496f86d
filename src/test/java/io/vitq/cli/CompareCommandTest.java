package io.vitq.cli;

import static io.vitq.cli.CliTest.assertUserError;
import static io.vitq.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vitq compare}: prediction files against a reference's, and every bad input refused by name. */
class CompareCommandTest {
    @TempDir
    Path tmp;

    private static final String HEADER = "path,label,top1,top2,top3,top4,top5,p1,p2,p3,p4,p5\n";

    /** Four labelled images; {@code tops} the top-1 class of each, the other four classes 900..903. */
    private Path csv(String name, int... tops) throws IOException {
        StringBuilder sb = new StringBuilder(HEADER);
        String[] paths = {"img/a.jpg", "img/b.jpg", "img/c, with comma.jpg", "img/d.jpg"};
        int[] labels = {1, 2, 3, 4};
        for (int i = 0; i < 4; i++)
            sb.append(paths[i].contains(",") ? '"' + paths[i] + '"' : paths[i]).append(',').append(labels[i]).append(',')
                    .append(tops[i]).append(",900,901,902,903,0.5,0.2,0.1,0.1,0.1\n");
        return Files.writeString(tmp.resolve(name), sb.toString());
    }

    @Test
    void tableAgainstTheReferenceAndTheFirstFile() throws IOException {
        Path ref = csv("float.csv", 1, 2, 3, 0), a = csv("a.csv", 1, 2, 0, 4), b = csv("b.csv", 1, 0, 0, 0);
        CliTest.Run r = run("compare", ref.toString(), a.toString(), b.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("reference: " + ref + " (4 images, 4 labelled, top-1 75.00 %)"), r.out());
        // a: right on a, b, d; agrees on a, b; the reference's top-1 outside its top-5 on c and d (1e-4)
        double nllA = -(2 * Math.log(0.5f) + 2 * Math.log(1e-4)) / 4;
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "| %s | 75.00 | 30.06-95.44 | 2/4 | %.4f | 1 / 1 | 1.000 |", a, nllA)),
                r.out());
        // b: right on a only; agrees on a and d (both 0)
        double nllB = -(2 * Math.log(0.5f) + 2 * Math.log(1e-4)) / 4;
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "| %s | 25.00 | 4.56-69.94 | 2/4 | %.4f | 2 / 0 | 0.500 |", b, nllB)),
                r.out());
        assertTrue(r.out().contains("against the first file, " + a + ":"), r.out());
        assertTrue(r.out().contains("| " + b + " | 2 / 0 | 0.500 |"), r.out());
        // one file: no second table
        CliTest.Run one = run("compare", ref.toString(), a.toString());
        assertEquals(0, one.exit(), one.err());
        assertTrue(!one.out().contains("against the first file"), one.out());
    }

    @Test
    void badInputIsRefusedByName() throws IOException {
        Path ref = csv("float.csv", 1, 2, 3, 0), a = csv("a.csv", 1, 2, 0, 4);
        assertUserError(run("compare", ref.toString(), tmp.resolve("missing.csv").toString()), 1, "FILE", "missing.csv", "no such file");
        assertUserError(run("compare", tmp.toString(), a.toString()), 1, "REFERENCE", "is a directory");
        Path notCsv = Files.writeString(tmp.resolve("table.md"), "| model | top-1 |\n");
        assertUserError(run("compare", ref.toString(), notCsv.toString()), 1, "table.md", "not a predictions CSV");
        Path empty = Files.writeString(tmp.resolve("empty.csv"), HEADER);
        assertUserError(run("compare", empty.toString(), a.toString()), 1, "empty.csv", "holds no image");
        Path fewer = Files.writeString(tmp.resolve("fewer.csv"), HEADER + "img/a.jpg,1,1,900,901,902,903,0.5,0.2,0.1,0.1,0.1\n");
        assertUserError(run("compare", ref.toString(), fewer.toString()), 1, "fewer.csv against " + ref, "it holds 1 image, the reference 4");
        Path other = Files.writeString(tmp.resolve("other.csv"), Files.readString(a).replace("img/d.jpg", "img/e.jpg"));
        assertUserError(run("compare", ref.toString(), other.toString()), 1, "other.csv", "img/e.jpg is not among the reference's images");
        Path relabelled = Files.writeString(tmp.resolve("relabelled.csv"), Files.readString(a).replace("img/d.jpg,4,", "img/d.jpg,7,"));
        assertUserError(run("compare", ref.toString(), relabelled.toString()), 1, "img/d.jpg: label 7 against the reference's 4");
        Path twice = Files.writeString(tmp.resolve("twice.csv"), Files.readString(ref).replace("img/d.jpg", "img/a.jpg"));
        assertUserError(run("compare", twice.toString(), a.toString()), 1, "twice.csv", "img/a.jpg twice");
        CliTest.Run help = run("compare", "--help");
        assertTrue(help.out().contains("(1e-4 where that class is outside its top-5"), help.out());
        assertEquals(1e-4, io.vitq.eval.PredictionComparison.FLOOR);   // the help text's number
        CliTest.Run noFile = run("compare", ref.toString());
        assertNotEquals(0, noFile.exit());
        assertTrue(noFile.err().contains("FILE"), noFile.err());
    }
}
