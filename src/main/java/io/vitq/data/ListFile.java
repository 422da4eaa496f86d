package io.vitq.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads an image list: one image per line, {@code <path> <label>}.
 *
 * <ul>
 *   <li>The label is the last token of the line, after a tab, a comma or spaces, and must be an
 *       integer >= 0; the path is everything before it. So paths may contain spaces, quotes and
 *       commas. Accepted: {@code images/x.JPEG<TAB>0} (CALIB32's calib32.txt),
 *       {@code ./data/x.JPEG, 472} (VAL1300's dataset.txt), {@code x.jpg 3}.</li>
 *   <li>Labels are optional, but all or none: if the first image line has no label (its last
 *       token is not an integer), the whole line of every entry is its path and the labels are
 *       {@link Dataset#NO_LABEL}; if it has one, every line must have one.</li>
 *   <li>Relative paths are relative to the list file's folder. Blank lines and lines starting
 *       with {@code #} are skipped; a UTF-8 byte-order mark and CRLF line ends are accepted.</li>
 * </ul>
 * Errors name the file and line: {@code list.txt:12: expected '<path> <label>' ...}; missing
 * images are reported with their line and path.
 */
public final class ListFile {
    private ListFile() {}

    /**
     * Reads the first {@code limit} entries of {@code listFile} and checks that those images exist and
     * start as JPEG or PNG files do ({@link ImageDecoder#formatProblem}).
     */
    public static ImageList read(Path listFile, int limit) {
        List<String> lines;
        try {
            lines = Files.readAllLines(listFile, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new DatasetException(listFile + ": cannot read (No such file)", e);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new DatasetException(listFile + ": not an image list (binary data, not text with 'path label' lines)"
                    + (ImageFolder.isImageFile(listFile) ? "; to classify one image use 'vitq predict'" : ""), e);
        } catch (IOException e) {
            throw new DatasetException(listFile + ": cannot read (" + FileErrors.reason(e) + ")", e);
        }
        Path folder = listFile.toAbsolutePath().normalize().getParent();
        List<ImageList.Entry> entries = new ArrayList<>();
        FileProblems badLabels = new FileProblems(); // a path that exists, then a token meant as its label
        FileProblems missing = new FileProblems();
        FileProblems notImages = new FileProblems();   // files that exist but do not start as an image does
        Boolean labelled = null; // decided by the first image line
        for (int n = 0; n < lines.size() && entries.size() < limit; n++) {
            String line = lines.get(n);
            if (n == 0 && line.startsWith("\uFEFF")) line = line.substring(1);
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String where = listFile + ":" + (n + 1);
            if (labelled == null) labelled = splitLabel(line, where) != null;
            ImageList.Entry entry = parseLine(line, labelled, folder, where);
            String notALabel = Files.isRegularFile(entry.path()) ? null : notALabel(line, folder);
            if (notALabel != null) {
                badLabels.add(where + ": '" + notALabel + "' is not a label (labels are integers >= 0), in '" + line + "'");
            } else if (!Files.isRegularFile(entry.path())) {
                missing.add(where + ": image not found: " + entry.path());
            } else if (missing.count() == 0) {
                String problem = ImageDecoder.formatProblem(entry.path());
                if (problem != null) notImages.add(where + ": " + entry.path() + ": " + problem);
            }
            entries.add(entry);
        }
        badLabels.throwIfAny("line(s) of " + listFile + " with a bad label");
        missing.throwIfAny("image(s) listed in " + listFile + " not found");
        notImages.throwIfAny("file(s) listed in " + listFile + " not JPEG or PNG images");
        if (entries.isEmpty()) throw new DatasetException(listFile + ": no images listed");
        return new ImageList(listFile.toString(), entries, List.of());
    }

    /**
     * For a whole-line path that does not exist: the last token, when the line without it names an
     * image (that token was meant as a label but is not one); else null.
     */
    private static String notALabel(String line, Path folder) {
        int sep = Math.max(line.lastIndexOf(' '), Math.max(line.lastIndexOf('\t'), line.lastIndexOf(',')));
        if (sep <= 0) return null;
        String path = line.substring(0, sep).strip();
        if (path.endsWith(",")) path = path.substring(0, path.length() - 1).strip();
        if (path.isEmpty() || !Files.isRegularFile(folder.resolve(path))) return null;
        return line.substring(sep + 1).strip();
    }

    /** One non-blank, non-comment, stripped line to an entry; {@code labelled}: the file's convention. */
    static ImageList.Entry parseLine(String line, boolean labelled, Path folder, String where) {
        String[] split = splitLabel(line, where);
        if (!labelled) {
            if (line.indexOf('\t') >= 0) {
                throw new DatasetException(where + ": has a tab-separated label, but the first line has none");
            }
            return new ImageList.Entry(folder.resolve(line).normalize(), Dataset.NO_LABEL);
        }
        if (split == null) {
            throw new DatasetException(where + ": expected '<path> <label>' with an integer label >= 0, got '"
                    + line + "'");
        }
        int label;
        try {
            label = Integer.parseInt(split[1]);
        } catch (NumberFormatException e) {
            throw new DatasetException(where + ": label " + split[1] + " is too large");
        }
        return new ImageList.Entry(folder.resolve(split[0]).normalize(), label);
    }

    /**
     * {path, label} if the line ends in a separator and a non-negative integer, else null.
     * A tab marks the label unambiguously, so a tab followed by anything else is an error.
     */
    private static String[] splitLabel(String line, String where) {
        int sep = -1;
        for (int i = line.length() - 1; i >= 0; i--) {
            char c = line.charAt(i);
            if (c == '\t' || c == ',' || Character.isWhitespace(c)) { sep = i; break; }
        }
        if (sep < 0) return null;
        String label = line.substring(sep + 1);
        if (label.isEmpty() || !label.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            if (line.indexOf('\t') >= 0) {
                throw new DatasetException(where + ": expected '<path><TAB><label>' with an integer label >= 0, got '"
                        + line + "'");
            }
            return null;
        }
        // Drop the separator run: spaces and at most one comma ("./data/x.JPEG, 472").
        String path = line.substring(0, sep + 1).strip();
        if (path.endsWith(",")) path = path.substring(0, path.length() - 1).strip();
        if (path.isEmpty()) throw new DatasetException(where + ": expected '<path> <label>', got '" + line + "'");
        return new String[] {path, label};
    }
}
