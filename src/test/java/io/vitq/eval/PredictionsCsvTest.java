package io.vitq.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The predictions CSV read back as {@code vitq eval --predictions} writes it, and every damaged file refused with its line. */
class PredictionsCsvTest {
    @TempDir
    Path tmp;

    @Test
    void readsBackWhatEvalWrites() throws IOException {
        List<Prediction> written = List.of(
                new Prediction("a.jpg", 1, new TopK(new int[] {1, 2, 3, 4, 5}, new float[] {0.5f, 0.25f, 0.125f, 1e-7f, 3.3333333e-2f})),
                new Prediction("dir,with,commas/b.jpg", 7, new TopK(new int[] {7, 0, 1, 2, 3}, new float[] {0.9f, 0.05f, 0.02f, 0.02f, 0.01f})),
                new Prediction("say \"cheese\".png", 3, new TopK(new int[] {9, 3, 1, 2, 4}, new float[] {0.6f, 0.3f, 0.05f, 0.03f, 0.02f})),
                new Prediction("line\nbreak.png", -1, new TopK(new int[] {4, 3, 2, 1, 0}, new float[] {0.2f, 0.2f, 0.2f, 0.2f, 0.2f})),
                new Prediction("\"quoted\",\n\"twice\"", 999, new TopK(new int[] {999, 998, 997, 996, 995}, new float[] {1f, 0f, 0f, 0f, 0f})));
        Path f = tmp.resolve("p.csv");
        Reports.writePredictions(f, new EvalResult("m", "d", written.size(), 4, 2, 3, 1, 1, 1, 1, written, null));
        List<Prediction> read = PredictionsCsv.read(f);
        assertEquals(written.size(), read.size());
        for (int i = 0; i < written.size(); i++) {
            Prediction w = written.get(i), r = read.get(i);
            assertEquals(w.path(), r.path());
            assertEquals(w.label(), r.label());
            assertArrayEquals(w.top().classes(), r.top().classes());
            for (int j = 0; j < 5; j++)   // written with 6 significant digits
                assertEquals(w.top().probs()[j], r.top().probs()[j], 5e-6 * w.top().probs()[j], w.path());
        }
    }

    /**
     * The same file with Windows line ends (a CSV opened and saved on Windows) reads the same; a line
     * break inside a quoted path is kept as the path had it.
     */
    @Test
    void windowsLineEndsReadTheSame() throws IOException {
        List<Prediction> written = List.of(
                new Prediction("a.jpg", 1, new TopK(new int[] {1, 2, 3, 4, 5}, new float[] {0.5f, 0.25f, 0.125f, 0.0625f, 0.03125f})),
                new Prediction("line\nbreak.png", 3, new TopK(new int[] {3, 2, 1, 0, 4}, new float[] {0.2f, 0.2f, 0.2f, 0.2f, 0.2f})));
        Path f = tmp.resolve("p.csv");
        Reports.writePredictions(f, new EvalResult("m", "d", written.size(), 4, 2, 3, 1, 1, 1, 1, written, null));
        String text = Files.readString(f);
        // every line end outside the quoted path becomes \r\n
        String crlf = text.replace("line\nbreak", "line\u0000break").replace("\n", "\r\n").replace("line\u0000break", "line\nbreak");
        Path w = Files.writeString(tmp.resolve("windows.csv"), crlf);
        List<Prediction> a = PredictionsCsv.read(f), b = PredictionsCsv.read(w);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).path(), b.get(i).path());
            assertEquals(a.get(i).label(), b.get(i).label());
            assertArrayEquals(a.get(i).top().probs(), b.get(i).top().probs());
        }
    }

    private void refused(String content, String... mentions) throws IOException {
        Path f = Files.writeString(tmp.resolve("bad.csv"), content);
        PredictionsCsv.FormatException e = assertThrows(PredictionsCsv.FormatException.class, () -> PredictionsCsv.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        for (String m : mentions) assertTrue(e.getMessage().contains(m), "'" + m + "' in: " + e.getMessage());
    }

    @Test
    void damagedFilesAreRefusedWithTheirLine() throws IOException {
        String h = PredictionsCsv.HEADER + "\n";
        String good = "a.jpg,1,1,2,3,4,5,0.5,0.2,0.1,0.1,0.1\n";
        refused("", "empty");
        refused("path,label,top1\n" + good, "not a predictions CSV", PredictionsCsv.HEADER);
        refused(h + good + "b.jpg,1,1,2,3,4,5,0.5,0.2,0.1,0.1\n", "line 3", "11 fields");
        refused(h + good + "b.jpg,1,1,2,3,4,5,0.5,0.2,0.1,0.1,0.1,7\n", "line 3", "13 fields");
        refused(h + "\"b.jpg,1,1,2,3,4,5,0.5,0.2,0.1,0.1,0.1\n", "line 2", "not closed");
        refused(h + "b.jpg,one,1,2,3,4,5,0.5,0.2,0.1,0.1,0.1\n", "line 2", "label 'one' is not a label");
        refused(h + "b.jpg,-2,1,2,3,4,5,0.5,0.2,0.1,0.1,0.1\n", "line 2", "label '-2'");
        refused(h + "b.jpg,1,1,2,3,4,5,1.5,0.2,0.1,0.1,0.1\n", "line 2", "p1 '1.5' is not a probability");
        refused(h + "b.jpg,1,1,2,3,4,5,0.5,abc,0.1,0.1,0.1\n", "line 2", "p2 'abc' is not a probability");
        refused(h + "b.jpg,1,-3,2,3,4,5,0.5,0.2,0.1,0.1,0.1\n", "line 2", "top1 '-3' is not a class index");
        refused(h + "b.jpg,1,1,2,3,4,5,NaN,0.2,0.1,0.1,0.1\n", "line 2", "p1 'NaN'");
        Path binary = Files.write(tmp.resolve("x.npy"), new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) 0xff, 0});
        PredictionsCsv.FormatException e = assertThrows(PredictionsCsv.FormatException.class, () -> PredictionsCsv.read(binary));
        assertTrue(e.getMessage().startsWith(binary + ": ") && e.getMessage().contains("binary data"), e.getMessage());
        // a quoted path with a line break counts its lines: the bad row after it is line 4
        refused(h + "\"x\ny.jpg\",1,1,2,3,4,5,0.5,0.2,0.1,0.1,0.1\nb.jpg,1,1\n", "line 4", "3 fields");
        assertEquals(0, PredictionsCsv.read(Files.writeString(tmp.resolve("only-header.csv"), h)).size());
        refused(h + good + "b.jpg\n", "line 3", "1 field, expected 12");
        // blank lines (one left at the end by an editor, or by cat-ing files together) are not rows; a quoted empty path is
        assertEquals(2, PredictionsCsv.read(Files.writeString(tmp.resolve("blank.csv"), h + good + "\n" + good + "\r\n  \n")).size());
        refused(h + good + "\"\"\n", "line 3", "1 field");
    }
}
