package io.vitq.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvalTransformTest {
    private static final RgbImage SOURCE = ImageDecoder.decode(TestData.resource("resize/source64x48.png"));

    /**
     * The whole transform on the 64x48 source against numpy + PIL (make_fixtures.py): 0.875 with ImageNet
     * statistics; a crop offset of 2.5 that Python rounds to 2; a crop larger than the image (zero padding).
     */
    @ParameterizedTest
    @CsvSource({"32,0.875,imagenet", "30,0.857,inception", "40,1.25,inception"})
    void matchesTorchvisionPipeline(int size, double cropPct, String stats) {
        float[] expected = TestData.littleEndianFloats(TestData.resource(
                "resize/eval_" + size + "_" + cropPct + "_" + stats + ".f32"));
        boolean imagenet = stats.equals("imagenet");
        Preprocessing p = new Preprocessing(size, cropPct, Interpolation.BICUBIC,
                imagenet ? Preprocessing.IMAGENET_MEAN : Preprocessing.INCEPTION_MEAN,
                imagenet ? Preprocessing.IMAGENET_STD : Preprocessing.INCEPTION_STD);
        float[] actual = new EvalTransform(p).apply(SOURCE);
        assertArrayEquals(expected, actual, 0f);
    }

    @Test
    void resizeSizeIsFloorOfSizeOverCropPct() {
        assertEquals(248, Preprocessing.vitAugReg(224).resizeSize());
        assertEquals(256, Preprocessing.imagenetDefault(224).resizeSize());
        assertEquals(384, new Preprocessing(384, 1.0, Interpolation.BICUBIC, Preprocessing.INCEPTION_MEAN,
                Preprocessing.INCEPTION_STD).resizeSize());
    }

    @ParameterizedTest
    @CsvSource({"500,375,248,330,248", "375,500,248,248,330", "227,227,248,248,248", "333,1000,10,10,30",
            "100,299,248,248,741"})
    void shorterSideResizeTruncatesLikeTorchvision(int w, int h, int size, int expectW, int expectH) {
        RgbImage out = EvalTransform.resizeShorterSide(RgbImage.blank(w, h), size, Interpolation.BILINEAR);
        assertEquals(expectW, out.width());
        assertEquals(expectH, out.height());
    }

    @Test
    void centerCropRoundsHalfToEven() {
        RgbImage image = RgbImage.blank(9, 8);
        for (int x = 0; x < 9; x++) for (int y = 0; y < 8; y++) image.rgb()[3 * (y * 9 + x)] = (byte) (10 * x + y);
        // (9 - 4) / 2 = 2.5 -> 2 and (8 - 4) / 2 = 2; (9 - 2) / 2 = 3.5 -> 4, (8 - 2) / 2 = 3.
        assertEquals(20 + 2, EvalTransform.centerCrop(image, 4).get(0, 0, 0));
        assertEquals(40 + 3, EvalTransform.centerCrop(image, 2).get(0, 0, 0));
    }

    /**
     * transformers' center_crop: offsets (side - crop) // 2, where torchvision rounds half to even;
     * padding ceil((crop - side) / 2) before, where torchvision pads (crop - side) // 2.
     */
    @Test
    void transformersCenterCropFloorsAndPadsCeil() {
        RgbImage image = RgbImage.blank(11, 5);
        for (int x = 0; x < 11; x++) for (int y = 0; y < 5; y++) image.rgb()[3 * (y * 11 + x)] = (byte) (10 * x + y + 1);
        // width: (11 - 4) / 2 = 3.5 -> 3 (floor), where torchvision takes 4
        // pixel (x, y) holds 10 x + y + 1; heights: (5 - 4) // 2 = 0, and round(0.5) = 0 (half to even)
        assertEquals(31, EvalTransform.centerCropTransformers(image, 4).get(0, 0, 0));
        assertEquals(41, EvalTransform.centerCrop(image, 4).get(0, 0, 0));
        // height 5 < crop 8: two zero rows before (ceil(3 / 2)), one after; torchvision pads one before
        RgbImage p = EvalTransform.centerCropTransformers(image, 8);
        assertEquals(0, p.get(0, 1, 0));
        assertEquals(11, p.get(0, 2, 0));   // image row 0, column (11 - 8) // 2 = 1
        assertEquals(15, p.get(0, 6, 0));   // image row 4
        assertEquals(0, p.get(0, 7, 0));
        RgbImage tv = EvalTransform.centerCrop(image, 8);
        assertEquals(0, tv.get(0, 0, 0));
        assertEquals(21, tv.get(0, 1, 0));  // image row 0, column round(1.5) = 2
    }

    @Test
    void writesIntoCallerArrayAtOffset() {
        EvalTransform t = new EvalTransform(Preprocessing.vitAugReg(16));
        float[] batch = new float[2 * t.imageFloats() + 2];
        Arrays.fill(batch, 42f);
        t.apply(SOURCE, batch, 1 + t.imageFloats());
        assertEquals(42f, batch[t.imageFloats()]);
        assertEquals(42f, batch[batch.length - 1] + 0f, "last slot untouched");
        float[] alone = t.apply(SOURCE);
        assertArrayEquals(alone, Arrays.copyOfRange(batch, 1 + t.imageFloats(), 1 + 2 * t.imageFloats()));
        for (float v : alone) assertTrue(v >= -1f && v <= 1f);
        assertThrows(IllegalArgumentException.class, () -> t.apply(SOURCE, batch, 3 + t.imageFloats()));
    }

    @Test
    void describesItself() {
        Preprocessing p = Preprocessing.vitAugReg(224);
        assertEquals("resize shorter side to 248 (bicubic, PIL) -> centre crop 224, "
                + "mean [0.5, 0.5, 0.5], std [0.5, 0.5, 0.5]", p.describe());
        assertEquals(p, new Preprocessing(224, 0.9, Interpolation.parse("BICUBIC"), new float[] {0.5f, 0.5f, 0.5f},
                new float[] {0.5f, 0.5f, 0.5f}));
        assertThrows(IllegalArgumentException.class, () -> Interpolation.parse("lanczos"));
        assertThrows(IllegalArgumentException.class, () -> new Preprocessing(224, 0.9, Interpolation.BICUBIC,
                new float[] {0.5f}, Preprocessing.INCEPTION_STD));
    }
}
