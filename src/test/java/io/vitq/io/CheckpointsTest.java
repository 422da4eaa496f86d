package io.vitq.io;

import io.vitq.testutil.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static io.vitq.io.PthReaderTest.*;
import static org.junit.jupiter.api.Assertions.*;

class CheckpointsTest {
    @TempDir
    Path tmp;

    @Test
    void dispatchesOnContentNotExtension() throws IOException {
        // a zip checkpoint named .safetensors, a legacy one named .bin
        Path zip = Files.copy(resource("tiny_state_dict.pth"), tmp.resolve("weights.safetensors"));
        assertMatches(expected("tiny_state_dict_expected.json"), Checkpoints.load(zip));
        Path legacy = Files.copy(resource("tiny_state_dict_legacy.pth"), tmp.resolve("weights.bin"));
        assertMatches(expected("tiny_state_dict_expected.json"), Checkpoints.load(legacy));

        // a safetensors file named .pth
        Path st = tmp.resolve("weights.pth");
        Files.write(st, safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 1.5f, -2f));
        Map<String, RawTensor> t = Checkpoints.load(st);
        assertArrayEquals(new float[]{1.5f, -2f}, t.get("w").toFloats());
    }

    @Test
    void clearErrorsForMissingDirectoryEmptyAndUnknownFiles() throws IOException {
        Path missing = tmp.resolve("nope.pth");
        assertEquals(missing + ": no such file", message(missing));
        assertEquals(tmp + ": is a directory, not a checkpoint file", message(tmp));
        Path empty = Files.createFile(tmp.resolve("empty.pth"));
        assertEquals(empty + ": empty file, not a checkpoint", message(empty));
        Path text = Files.writeString(tmp.resolve("notes.pth"), "hello, this is not a checkpoint");
        assertEquals(text + ": not a safetensors or PyTorch checkpoint", message(text));
        Path plan = Files.writeString(tmp.resolve("plan.json"), "{\n  \"format\": \"vitq-quant-plan\",\n  \"version\": 1\n}\n");
        assertEquals(plan + ": a plan JSON, not a safetensors or PyTorch checkpoint; 'vitq eval --model M --plan " + plan
                + "' applies it", message(plan));
        Path oneByte = Files.write(tmp.resolve("one.pth"), new byte[]{'P'});
        assertEquals(oneByte + ": not a safetensors or PyTorch checkpoint", message(oneByte));
        // header and data disagree: the file and the tensor are named
        Path f64 = Files.write(tmp.resolve("f64.safetensors"),
                safetensors("{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 1f, 2f));
        assertEquals(f64 + ": tensor 'w': shape [2] of F64 needs 16 bytes, found 8", message(f64));
        Path neg = Files.write(tmp.resolve("neg.safetensors"),
                safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 1f, 2f));
        assertEquals(neg + ": tensor 'w': shape [-2] has an invalid dimension -2", message(neg));
        // a safetensors file cut inside its header (an incomplete download) is named as such
        byte[] whole = Files.readAllBytes(f64);
        Path cut = Files.write(tmp.resolve("cut.safetensors"), java.util.Arrays.copyOf(whole, 20));
        long headerLen = ByteBuffer.wrap(whole).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(cut + ": a safetensors file cut short (its header alone is " + headerLen + " bytes, the file 20);"
                + " an incomplete download or copy?", message(cut));
        // ... and one cut inside its data: the tensor that runs past the end
        Path two = Files.write(tmp.resolve("two.safetensors"), safetensors(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                1f, 2f));
        byte[] both = Files.readAllBytes(two);
        Path cutData = Files.write(tmp.resolve("cutdata.safetensors"), java.util.Arrays.copyOf(both, both.length - 2));
        assertEquals(cutData + ": tensor 'b': data offsets [4, 8) outside the file (its data holds 6 bytes: cut short, an"
                + " incomplete download or copy?)", message(cutData));
        // tensors whose bytes overlap (the format forbids it): refused whichever comes first in the header
        Path overlap = Files.write(tmp.resolve("overlap.safetensors"), safetensors(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                1f, 2f));
        assertEquals(overlap + ": tensor 'b': data offsets [4, 8) overlap those of tensor 'a' [0, 8): not a valid safetensors file",
                message(overlap));
        Path before = Files.write(tmp.resolve("before.safetensors"), safetensors(
                "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                1f, 2f));
        assertEquals(before + ": tensor 'a': data offsets [0, 8) overlap those of tensor 'b' [4, 8): not a valid safetensors file",
                message(before));
        // the same bytes in any order, and an empty tensor anywhere, are fine
        Path swapped = Files.write(tmp.resolve("swapped.safetensors"), safetensors(
                "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"e\":{\"dtype\":\"F32\",\"shape\":[0],"
                        + "\"data_offsets\":[4,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 1f, 2f));
        assertEquals(2f, SafeTensors.read(swapped).get("b").toFloats()[0]);
    }

    @Test
    void realVitTinyPthMatchesTheSafetensorsRelease() {
        Path goldenPth = TestData.sharedOrSkip("golden/vit_tiny_patch16_224.model_key.pth");
        Path safetensors = TestData.sharedOrSkip("data/vit_tiny_patch16_224.augreg_in21k_ft_in1k/"
                + "vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors");
        Map<String, RawTensor> pth = Checkpoints.load(goldenPth);
        Map<String, RawTensor> st = SafeTensors.read(safetensors).tensors();
        assertEquals(st.keySet(), pth.keySet());
        for (Map.Entry<String, RawTensor> e : st.entrySet()) {
            RawTensor p = pth.get(e.getKey());
            assertArrayEquals(e.getValue().shape(), p.shape(), e.getKey());
            // bit-exact: compare raw float bits, not with a tolerance
            assertArrayEquals(e.getValue().toFloats(), p.toFloats(), 0f, e.getKey());
        }
    }

    private static String message(Path p) {
        return assertThrows(CheckpointException.class, () -> Checkpoints.load(p)).getMessage();
    }

    private static byte[] safetensors(String header, float... values) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (float v : values) b.putFloat(v);
        return b.array();
    }
}
