package io.vitq.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Scans a folder of images, ordered like torchvision's {@code ImageFolder}.
 *
 * <ul>
 *   <li>With subfolders (ImageNet layout {@code root/<wnid>/*.JPEG}): every subfolder is a class,
 *       label = its index among the sorted subfolder names (empty ones included, so indices match
 *       the sorted wnid list); images are found recursively and sorted by folder, then name.
 *       Image files directly in {@code root} are ignored then.</li>
 *   <li>Without subfolders: the sorted images of {@code root}, all with {@link Dataset#NO_LABEL}.</li>
 * </ul>
 * Images are files ending in .jpg, .jpeg or .png (any case); the decoder checks the real format.
 */
public final class ImageFolder {
    private ImageFolder() {}

    /** Scans {@code root} and keeps the first {@code limit} images (labels as in the full scan). */
    public static ImageList scan(Path root, int limit) {
        Path dir = root.toAbsolutePath().normalize();
        try {
            List<Path> classDirs = sorted(list(dir).filter(Files::isDirectory));
            List<ImageList.Entry> entries = new ArrayList<>();
            List<String> classNames = new ArrayList<>();
            if (classDirs.isEmpty()) {
                for (Path p : sorted(list(dir).filter(ImageFolder::isImageFile))) {
                    if (entries.size() >= limit) break;
                    entries.add(new ImageList.Entry(p, Dataset.NO_LABEL));
                }
            } else {
                for (int label = 0; label < classDirs.size(); label++) {
                    Path classDir = classDirs.get(label);
                    classNames.add(classDir.getFileName().toString());
                    for (Path p : imagesUnder(classDir)) {
                        if (entries.size() >= limit) break;
                        entries.add(new ImageList.Entry(p, label));
                    }
                }
            }
            if (entries.isEmpty()) {
                throw new DatasetException(root + ": no .jpg, .jpeg or .png images found"
                        + (classDirs.isEmpty() ? "" : " in its " + classDirs.size() + (classDirs.size() == 1 ? " class folder" : " class folders")));
            }
            FileProblems notImages = new FileProblems();
            for (ImageList.Entry e : entries) {
                String problem = ImageDecoder.formatProblem(e.path());
                if (problem != null) notImages.add(e.path() + ": " + problem);
            }
            notImages.throwIfAny("file(s) in " + root + " not JPEG or PNG images");
            return new ImageList(root.toString(), entries, classNames);
        } catch (IOException | UncheckedIOException e) {
            throw new DatasetException(root + ": cannot list folder (" + FileErrors.reason(e) + ")", e);
        }
    }

    static boolean isImageFile(Path p) {
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return (name.endsWith(".jpg") || name.endsWith(".jpeg") || name.endsWith(".png")) && Files.isRegularFile(p);
    }

    /** Images below {@code dir}, in the order of Python's {@code sorted(os.walk(dir))} then sorted names. */
    private static List<Path> imagesUnder(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir, FileVisitOption.FOLLOW_LINKS)) {
            return walk.filter(ImageFolder::isImageFile)
                    .sorted(Comparator.comparing((Path p) -> p.getParent().toString()).thenComparing(p -> p.getFileName().toString()))
                    .toList();
        }
    }

    private static Stream<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList().stream();
        }
    }

    private static List<Path> sorted(Stream<Path> paths) {
        return paths.sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
    }
}
