package io.vitq.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.vitq.testutil.TestData.sharedOrSkip;

class DatasetTest {
    @TempDir Path dir;

    /** A file that starts as a JPEG does (Dataset.open checks the first bytes, not the whole image). */
    private Path touch(String relative) throws IOException {
        Path p = dir.resolve(relative);
        Files.createDirectories(p.getParent());
        Files.write(p, new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0});
        return p.toAbsolutePath().normalize();
    }

    private Path list(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void readsAllThreeListForms() throws IOException {
        Path a = touch("data/a.JPEG"), b = touch("data/b c.JPEG"), q = touch("images/it's, odd.jpg");
        Path comma = list("dataset.txt", "./data/a.JPEG, 472\r\n./data/b c.JPEG, 3\r\n");
        Dataset d = Dataset.open(comma);
        assertEquals(2, d.size());
        assertEquals(a, d.path(0));
        assertEquals(472, d.label(0));
        assertEquals(b, d.path(1));
        assertEquals(3, d.label(1));
        assertTrue(d.hasLabels());

        Path tab = list("calib.txt", "\uFEFF# calibration\n\nimages/it's, odd.jpg\t0\ndata/b c.JPEG\t32\n");
        Dataset t = Dataset.open(tab);
        assertEquals(List.of(q, b), List.of(t.path(0), t.path(1)));
        assertEquals(32, t.label(1));

        Path spaces = list("sub/list.txt", "../data/a.JPEG   7\n  ../data/b c.JPEG 8  \n");
        Dataset s = Dataset.open(spaces);
        assertEquals(a, s.path(0));
        assertEquals(8, s.label(1));
        assertTrue(s.describe().contains("2 images"), s.describe());
    }

    @Test
    void labelsAreOptionalButAllOrNone() throws IOException {
        Path a = touch("x/a b.png");
        touch("x/c.png");
        Dataset d = Dataset.open(list("plain.txt", "x/a b.png\nx/c.png\n"));
        assertEquals(a, d.path(0));
        assertEquals(Dataset.NO_LABEL, d.label(0));
        assertFalse(d.hasLabels());

        Path mixed = list("mixed.txt", "x/c.png 1\n# comment\nx/a b.png\n");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.open(mixed));
        assertEquals(mixed + ":3: expected '<path> <label>' with an integer label >= 0, got 'x/a b.png'", e.getMessage());
    }

    @Test
    void badLinesAreNamedWithFileAndLine() throws IOException {
        touch("a.jpg");
        Path badTab = list("list.txt", "a.jpg 1\na.jpg\tcat\n");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.open(badTab));
        assertTrue(e.getMessage().startsWith(badTab + ":2: expected '<path><TAB><label>'"), e.getMessage());
        Path negative = list("neg.txt", "a.jpg 1\na.jpg -1\n");
        assertTrue(assertThrows(DatasetException.class, () -> Dataset.open(negative)).getMessage()
                .startsWith(negative + ":2: expected '<path> <label>'"));
        Path empty = list("empty.txt", "# nothing\n\n");
        assertEquals(empty + ": no images listed",
                assertThrows(DatasetException.class, () -> Dataset.open(empty)).getMessage());
        Path missingList = dir.resolve("nope.txt");
        assertEquals(missingList + ": no such file or folder",
                assertThrows(DatasetException.class, () -> Dataset.open(missingList)).getMessage());
        // a first line whose label is not one: the whole line is taken as a path, and the error says why
        Path minus = list("minus.txt", "a.jpg -3\n");
        String mm = assertThrows(DatasetException.class, () -> Dataset.open(minus)).getMessage();
        assertTrue(mm.contains("'-3' is not a label") && mm.contains("bad label") && !mm.contains("not found"), mm); // the image exists
        // an image given where a list is expected (a natural slip): named, with the command that takes one image
        Path jpeg = Files.write(dir.resolve("cat.JPEG"), new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0});
        String m = assertThrows(DatasetException.class, () -> Dataset.open(jpeg)).getMessage();
        assertTrue(m.startsWith(jpeg + ": not an image list (binary data") && m.contains("vitq predict"), m);
    }

    @Test
    void missingImagesAreReportedWithLineAndPath() throws IOException {
        touch("a.jpg");
        Path l = list("list.txt", "a.jpg 0\ngone.jpg 1\n");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.open(l));
        assertTrue(e.getMessage().contains(l + ":2: image not found: " + dir.toAbsolutePath().normalize().resolve("gone.jpg")),
                e.getMessage());
        // With --limit 1 the missing second image is never needed.
        assertEquals(1, Dataset.open(l, 1).size());
    }

    @Test
    void filesThatAreNotImagesAreRefusedWhenTheDatasetOpens() throws IOException {
        touch("a.jpg");
        Path png = dir.resolve("p.png");
        Files.write(png, new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0});
        Files.writeString(dir.resolve("b.JPEG"), "not an image\n");
        Files.write(dir.resolve("empty.jpg"), new byte[0]);
        Path l = list("list.txt", "a.jpg 0\np.png 1\nb.JPEG 2\nempty.jpg 3\n");
        String m = assertThrows(DatasetException.class, () -> Dataset.open(l)).getMessage();
        Path abs = dir.toAbsolutePath().normalize();
        assertTrue(m.startsWith("2 file(s) listed in " + l + " not JPEG or PNG images:"), m);
        assertTrue(m.contains(l + ":3: " + abs.resolve("b.JPEG") + ": not a JPEG or PNG image"), m);
        assertTrue(m.contains(l + ":4: " + abs.resolve("empty.jpg") + ": not a JPEG or PNG image"), m);
        assertEquals(2, Dataset.open(l, 2).size());   // only the images kept by --limit are read
        // a folder of images is checked the same way
        touch("f/n01/a.jpg");
        Files.createDirectories(dir.resolve("f/n02"));
        Files.writeString(dir.resolve("f/n02/notes.jpg"), "text");
        String f = assertThrows(DatasetException.class, () -> Dataset.open(dir.resolve("f"))).getMessage();
        assertTrue(f.contains(abs.resolve("f/n02/notes.jpg") + ": not a JPEG or PNG image"), f);
    }

    @Test
    void imageNetFolderLayout() throws IOException {
        touch("root/n02/z.JPEG");
        touch("root/n02/a.jpeg");
        touch("root/n02/notes.txt");
        touch("root/n01/b.png");
        touch("root/n01/sub/a.JPG");
        Files.createDirectories(dir.resolve("root/n03_empty"));
        touch("root/n04/c.jpg");
        touch("root/top_level_ignored.jpg");
        ImageList d = ImageFolder.scan(dir.resolve("root"), Integer.MAX_VALUE);
        Path root = dir.resolve("root").toAbsolutePath().normalize();
        assertEquals(List.of(root.resolve("n01/b.png"), root.resolve("n01/sub/a.JPG"), root.resolve("n02/a.jpeg"),
                root.resolve("n02/z.JPEG"), root.resolve("n04/c.jpg")), d.entries().stream().map(ImageList.Entry::path).toList());
        assertEquals(List.of(0, 0, 1, 1, 3), d.entries().stream().map(ImageList.Entry::label).toList());
        assertEquals(List.of("n01", "n02", "n03_empty", "n04"), d.classNames());
        Dataset limited = Dataset.open(dir.resolve("root"), 3);
        assertEquals(3, limited.size());
        assertEquals(1, limited.label(2));
    }

    @Test
    void flatFolderHasNoLabels() throws IOException {
        touch("flat/b.png");
        touch("flat/a.jpg");
        touch("flat/readme.md");
        Dataset d = Dataset.open(dir.resolve("flat"));
        assertEquals(2, d.size());
        assertTrue(d.path(0).endsWith("a.jpg"));
        assertEquals(Dataset.NO_LABEL, d.label(1));
        Files.createDirectories(dir.resolve("none"));
        assertTrue(assertThrows(DatasetException.class, () -> Dataset.open(dir.resolve("none")))
                .getMessage().contains("no .jpg, .jpeg or .png images"));
    }

    @Test
    void sharedListsParse() {
        Path val = sharedOrSkip("data/imagenet_val_1300_acuity/dataset.txt");
        Path calib = sharedOrSkip("data/imagenet-calib-125/calib32.txt");
        Dataset v = Dataset.open(val, 10);
        assertEquals(10, v.size());
        assertTrue(v.path(0).endsWith("ILSVRC2012_val_00000347.JPEG"));
        assertEquals(472, v.label(0));
        assertEquals(1300, Dataset.open(val).size());
        Dataset c = Dataset.open(calib);
        assertEquals(32, c.size());
        assertEquals(32, c.label(1));
    }
}
