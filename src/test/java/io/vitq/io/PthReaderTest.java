package io.vitq.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

class PthReaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    // ---- real torch.save files (PyTorch 1.13) ----

    @Test
    void zipStateDictMatchesExpectedValues() throws IOException {
        assertMatches(expected("tiny_state_dict_expected.json"), PthReader.read(resource("tiny_state_dict.pth")));
    }

    @Test
    void deitStyleModelKeyWrapperIsUnwrapped() throws IOException {
        Map<String, RawTensor> t = PthReader.read(resource("tiny_checkpoint_model_key.pth"));
        assertMatches(expected("tiny_state_dict_expected.json"), t);
        assertFalse(t.containsKey("epoch"));
    }

    @Test
    void legacyFormatLoadsTheSameValues() throws IOException {
        assertMatches(expected("tiny_state_dict_expected.json"), PthReader.read(resource("tiny_state_dict_legacy.pth")));
    }

    @Test
    void viewsZeroDimAndEmptyTensorsHaveTheRightShapes() throws IOException {
        Map<String, RawTensor> t = PthReader.read(resource("tiny_state_dict.pth"));
        assertArrayEquals(new int[0], t.get("scalar").shape());
        assertEquals(1.5, t.get("scalar").toDoubles()[0]);
        assertArrayEquals(new int[]{0, 3}, t.get("empty").shape());
        assertArrayEquals(new int[]{6, 4}, t.get("view.t").shape());
        assertArrayEquals(new int[]{2, 3}, t.get("view.slice").shape());
    }

    // ---- crafted files (make_crafted.py): features the golden files do not exercise ----

    @Test
    void orderedDictWithMetadataParametersAllDtypesAndStridedViews() throws IOException {
        JsonNode all = expected("crafted_expected.json");
        Map<String, RawTensor> t = PthReader.read(resource("crafted_features.pth"));
        assertMatches(all.get("crafted_features.pth"), t);
    }

    @Test
    void bigEndianByteorderRecordIsSwapped() throws IOException {
        assertMatches(expected("crafted_expected.json").get("crafted_bigendian.pth"),
                PthReader.read(resource("crafted_bigendian.pth")));
    }

    @Test
    void legacyStorageViewsAreResolved() throws IOException {
        assertMatches(expected("crafted_expected.json").get("crafted_legacy_views.pth"),
                PthReader.read(resource("crafted_legacy_views.pth")));
    }

    // ---- refusal: no code is ever executed ----

    @Test
    void refusesOsSystemWithoutRunningIt() throws IOException {
        Path marker = tmp.resolve("pwned");
        byte[] evil = osSystemPickle("touch " + marker, false);
        Path file = zipCheckpoint("x.pth", evil);
        CheckpointException e = assertThrows(CheckpointException.class, () -> PthReader.read(file));
        assertEquals(file + ": refusing to load: pickle references 'os.system'"
                + " (only state dicts of tensors are supported)", e.getMessage());
        assertFalse(Files.exists(marker));
    }

    @Test
    void refusesStackGlobalAndLegacyStreamsToo() throws IOException {
        Path zip = zipCheckpoint("stack.pth", osSystemPickle("echo hi", true));
        assertTrue(assertThrows(CheckpointException.class, () -> PthReader.read(zip)).getMessage()
                .contains("'os.system'"));
        Path legacy = tmp.resolve("legacy.pth"); // a bare pickle: goes down the legacy path
        Files.write(legacy, osSystemPickle("echo hi", false));
        String msg = assertThrows(CheckpointException.class, () -> Checkpoints.load(legacy)).getMessage();
        assertTrue(msg.startsWith(legacy + ": refusing to load") && msg.contains("'os.system'"), msg);
    }

    @Test
    void refusesGlobalsBeyondTheAllowList() throws IOException {
        for (String global : List.of("builtins\neval", "torch.storage\n_load_from_bytes", "argparse\nNamespace",
                "torch\nload")) {
            byte[] p = concat(new byte[]{(byte) 0x80, 2, 'c'}, ascii(global + "\n"), new byte[]{')', 'R', '.'});
            Path file = zipCheckpoint("g.pth", p);
            String msg = assertThrows(CheckpointException.class, () -> PthReader.read(file)).getMessage();
            assertTrue(msg.contains("'" + global.replace('\n', '.') + "'"), msg);
        }
    }

    @Test
    void unsupportedOpcodeAndStorageTypeAreNamed() throws IOException {
        Path inst = zipCheckpoint("inst.pth", concat(new byte[]{(byte) 0x80, 2, '('}, ascii("iposix\nsystem\n.")));
        String msg = assertThrows(CheckpointException.class, () -> PthReader.read(inst)).getMessage();
        assertTrue(msg.contains("0x69 (INST)"), msg);

        Path complex = zipCheckpoint("c.pth", concat(new byte[]{(byte) 0x80, 2, 'c'},
                ascii("torch\nComplexFloatStorage\n.")));
        msg = assertThrows(CheckpointException.class, () -> PthReader.read(complex)).getMessage();
        assertTrue(msg.contains("torch.ComplexFloatStorage") && msg.contains("not supported"), msg);
    }

    @Test
    void aPickleThatIsNotAStateDictIsRejected() throws IOException {
        Path file = zipCheckpoint("list.pth", new byte[]{(byte) 0x80, 2, ']', '.'});
        String msg = assertThrows(CheckpointException.class, () -> PthReader.read(file)).getMessage();
        assertEquals(file + ": holds a list, not a state dict", msg);
    }

    @Test
    void absurdlyDeepNestingIsAnErrorNotAStackOverflow() throws IOException {
        byte[] p = new byte[2_000_010];
        int i = 0;
        p[i++] = (byte) 0x80; p[i++] = 2; p[i++] = '}'; p[i++] = 'N';
        while (i < p.length - 3) p[i++] = (byte) 0x85; // TUPLE1, over and over: (((None,),),)...
        p[i++] = 'N'; p[i++] = 's'; p[i] = '.';      // used as a dict key, which needs its hash
        Path file = zipCheckpoint("deep.pth", p);
        String msg = assertThrows(CheckpointException.class, () -> PthReader.read(file)).getMessage();
        assertEquals(file + ": pickle nests objects too deeply", msg);
    }

    // ---- damaged files: always a CheckpointException naming the file ----

    @Test
    void everyTruncationOfAZipOrLegacyFileGivesACheckpointException() throws IOException {
        for (String name : List.of("tiny_state_dict.pth", "tiny_state_dict_legacy.pth")) {
            byte[] whole = Files.readAllBytes(resource(name));
            Path cut = tmp.resolve("cut_" + name);
            // A cut zip always loses its central directory; a legacy stream can be cut anywhere, so try every length.
            int step = name.endsWith("legacy.pth") ? 1 : 13;
            for (int len = 1; len < whole.length; len += step) {
                Files.write(cut, Arrays.copyOf(whole, len));
                expectCleanFailure(cut, "truncated to " + len + " bytes");
            }
        }
    }

    @Test
    void truncatedPickleInsideAValidZip() throws IOException {
        byte[] pickle = zipRecord(resource("tiny_state_dict.pth"), "tiny_state_dict/data.pkl");
        Path file = zipCheckpoint("short.pth", Arrays.copyOf(pickle, 300));
        String msg = assertThrows(CheckpointException.class, () -> PthReader.read(file)).getMessage();
        assertTrue(msg.startsWith(file + ": truncated pickle"), msg);
    }

    @Test
    void storageRecordShorterThanItsTensor() throws IOException {
        Path original = resource("tiny_state_dict.pth");
        Map<String, byte[]> storages = new LinkedHashMap<>();
        for (int k = 0; k < 8; k++) storages.put("data/" + k, zipRecord(original, "tiny_state_dict/data/" + k));
        storages.put("data/0", Arrays.copyOf(storages.get("data/0"), 40));
        Path file = tmp.resolve("short_storage.pth");
        writeZip(file, "tiny_state_dict/", zipRecord(original, "tiny_state_dict/data.pkl"), storages);
        String msg = assertThrows(CheckpointException.class, () -> PthReader.read(file)).getMessage();
        assertEquals(file + ": storage '0' has 40 bytes, expected 12 x F32 = 48", msg);
    }

    @Test
    void corruptedPickleBytesNeverEscapeAsOtherExceptions() throws IOException {
        byte[] pickle = zipRecord(resource("tiny_state_dict.pth"), "tiny_state_dict/data.pkl");
        Map<String, byte[]> storages = new LinkedHashMap<>();
        for (int k = 0; k < 8; k++) storages.put("data/" + k, zipRecord(resource("tiny_state_dict.pth"), "tiny_state_dict/data/" + k));
        Random random = new Random(42);
        Path file = tmp.resolve("mutant.pth");
        for (int i = 0; i < pickle.length; i++) {
            byte[] mutant = pickle.clone();
            mutant[i] = (byte) (i % 3 == 0 ? 0xff : random.nextInt(256));
            writeZip(file, "tiny_state_dict/", mutant, storages);
            try {
                PthReader.read(file); // some mutations still form a valid state dict
            } catch (CheckpointException e) {
                assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
            }
        }
    }

    // ---- helpers ----

    static Path resource(String name) {
        try {
            return Path.of(PthReaderTest.class.getResource("/pth/" + name).toURI());
        } catch (Exception e) {
            throw new IllegalStateException("missing test resource pth/" + name, e);
        }
    }

    static JsonNode expected(String name) throws IOException {
        return JSON.readTree(resource(name).toFile());
    }

    /** Names, order, dtypes, shapes and every value must match exactly. */
    static void assertMatches(JsonNode expected, Map<String, RawTensor> actual) {
        List<String> names = new ArrayList<>();
        expected.fieldNames().forEachRemaining(names::add);
        assertEquals(names, new ArrayList<>(actual.keySet()));
        for (String name : names) {
            JsonNode e = expected.get(name);
            RawTensor t = actual.get(name);
            assertEquals(dtype(e.get("dtype").asText()), t.dtype(), name);
            int[] shape = new int[e.get("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = e.get("shape").get(i).asInt();
            assertArrayEquals(shape, t.shape(), name);
            JsonNode v = e.get("values");
            assertEquals(v.size(), t.numel(), name);
            if (t.dtype().isFloating()) {
                double[] d = t.toDoubles();
                for (int i = 0; i < d.length; i++) assertEquals(v.get(i).asDouble(), d[i], 0.0, name + "[" + i + "]");
            } else { // via longs: int32 extremes are not exact as float
                long[] l = t.toLongs();
                for (int i = 0; i < l.length; i++) assertEquals(v.get(i).asLong(), l[i], name + "[" + i + "]");
            }
        }
    }

    private static DType dtype(String torchName) {
        return switch (torchName) {
            case "float32" -> DType.F32;
            case "float16" -> DType.F16;
            case "bfloat16" -> DType.BF16;
            case "float64" -> DType.F64;
            case "int64" -> DType.I64;
            case "int32" -> DType.I32;
            case "int16" -> DType.I16;
            case "int8" -> DType.I8;
            case "uint8" -> DType.U8;
            case "bool" -> DType.BOOL;
            default -> throw new IllegalArgumentException(torchName);
        };
    }

    private static void expectCleanFailure(Path file, String what) {
        try {
            Checkpoints.load(file);
            fail(file + " " + what + " loaded without error");
        } catch (CheckpointException e) {
            assertTrue(e.getMessage().startsWith(file.toString()), what + ": " + e.getMessage());
        } catch (RuntimeException e) {
            throw new AssertionError(what + ": escaped as " + e, e);
        }
    }

    /** os.system(command) as pickle would write it (protocol 2 GLOBAL, or protocol 4 STACK_GLOBAL). */
    static byte[] osSystemPickle(String command, boolean stackGlobal) {
        byte[] cmd = command.getBytes(StandardCharsets.UTF_8);
        byte[] global = stackGlobal
                ? concat(new byte[]{(byte) 0x8c, 2}, ascii("os"), new byte[]{(byte) 0x8c, 6}, ascii("system"),
                        new byte[]{(byte) 0x93})
                : concat(new byte[]{'c'}, ascii("os\nsystem\n"));
        return concat(new byte[]{(byte) 0x80, (byte) (stackGlobal ? 4 : 2)}, global,
                new byte[]{(byte) 0x8c, (byte) cmd.length}, cmd, new byte[]{(byte) 0x85, 'R', '.'});
    }

    private Path zipCheckpoint(String name, byte[] pickle) throws IOException {
        Path file = tmp.resolve(name);
        writeZip(file, "archive/", pickle, Map.of());
        return file;
    }

    private static void writeZip(Path file, String prefix, byte[] pickle, Map<String, byte[]> records) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry(prefix + "data.pkl"));
            zip.write(pickle);
            for (Map.Entry<String, byte[]> r : records.entrySet()) {
                zip.putNextEntry(new ZipEntry(prefix + r.getKey()));
                zip.write(r.getValue());
            }
            zip.putNextEntry(new ZipEntry(prefix + "version"));
            zip.write(ascii("3\n"));
        }
        Files.write(file, bytes.toByteArray());
    }

    private static byte[] zipRecord(Path zipFile, String name) throws IOException {
        // ZipFile, not ZipInputStream: torch writes stored entries with data descriptors, which only the former reads
        try (ZipFile zip = new ZipFile(zipFile.toFile()); InputStream in = zip.getInputStream(zip.getEntry(name))) {
            return in.readAllBytes();
        }
    }

    static byte[] ascii(String s) { return s.getBytes(StandardCharsets.US_ASCII); }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }
}
