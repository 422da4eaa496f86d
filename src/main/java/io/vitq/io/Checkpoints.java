package io.vitq.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Loads weights from any supported checkpoint file, recognised by its first bytes rather than its
 * extension (timm and DeiT files are often named .pth, .pt, .bin or .tar regardless of format).
 */
public final class Checkpoints {
    private Checkpoints() {}

    /** Tensors by name in file order, from a safetensors file or a PyTorch checkpoint (zip or legacy). */
    public static Map<String, RawTensor> load(Path path) {
        requireNonEmptyFile(path);
        byte[] head = head(path, 9);
        // a safetensors file cut short first: its 8-byte length can start like a zip or a pickle, and neither has '{' at byte 8
        requireNotTruncatedSafetensors(path, head);
        // safetensors first: its 8-byte length could start with "PK", but a zip's first 8 bytes never
        // read as a length that fits the file followed by '{'.
        if (isSafetensors(path, head)) return SafeTensors.read(path).tensors();
        if (head.length >= 2 && head[0] == 'P' && head[1] == 'K') return PthReader.read(path);
        // torch.save's legacy stream starts with a pickle (PROTO opcode, protocol 2..5) of its magic number.
        if (head.length >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) return PthReader.read(path);
        throw new CheckpointException(notA(path, "a safetensors or PyTorch checkpoint"));
    }

    /**
     * {@code "PATH: not WHAT"}, or, for a vitq plan file given where a model file goes, what it is and
     * where it goes instead.
     */
    static String notA(Path path, String what) {
        String start = new String(head(path, 256), java.nio.charset.StandardCharsets.UTF_8);
        if (start.stripLeading().startsWith("{") && start.contains('"' + io.vitq.quant.QuantPlanJson.FORMAT + '"'))
            return path + ": a plan JSON, not " + what + "; 'vitq eval --model M --plan " + path + "' applies it";
        return path + ": not " + what;
    }

    /**
     * A file that starts like a safetensors file (a plausible header length, then '{') but is shorter
     * than its header says was cut short, e.g. by an incomplete download or copy: say so rather than
     * that it is no checkpoint at all.
     */
    static void requireNotTruncatedSafetensors(Path path, byte[] head) {
        if (head.length < 9 || head[8] != '{') return;
        long headerLen = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        long size;
        try {
            size = Files.size(path);
        } catch (IOException e) {
            return;
        }
        if (headerLen >= 2 && headerLen <= SafeTensors.MAX_HEADER && headerLen > size - 8)
            throw new CheckpointException(path + ": a safetensors file cut short (its header alone is " + headerLen
                    + " bytes, the file " + size + "); an incomplete download or copy?");
    }

    /** True for an existing, non-empty file that starts like a safetensors file. */
    static boolean isSafetensors(Path path) {
        if (!Files.isRegularFile(path)) return false;
        return isSafetensors(path, head(path, 9));
    }

    /** 8-byte little-endian header length that fits the file, then the JSON header's '{'. */
    private static boolean isSafetensors(Path path, byte[] head) {
        if (head.length < 9 || head[8] != '{') return false;
        long headerLen = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        try {
            return headerLen >= 2 && headerLen <= Files.size(path) - 8;
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read (" + io.vitq.data.FileErrors.reason(e) + ")", e);
        }
    }

    static void requireNonEmptyFile(Path path) {
        if (Files.isDirectory(path)) throw new CheckpointException(path + ": is a directory, not a checkpoint file");
        if (!Files.exists(path)) throw new CheckpointException(path + ": no such file");
        try {
            if (Files.size(path) == 0) throw new CheckpointException(path + ": empty file, not a checkpoint");
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read (" + io.vitq.data.FileErrors.reason(e) + ")", e);
        }
    }

    /** Up to n leading bytes of the file. */
    static byte[] head(Path path, int n) {
        try (InputStream in = Files.newInputStream(path)) {
            return in.readNBytes(n);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read (" + io.vitq.data.FileErrors.reason(e) + ")", e);
        }
    }
}
