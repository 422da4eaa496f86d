package io.vitq.calib.mp;

import io.vitq.calib.mp.BitAllocation.Option;
import io.vitq.calib.mp.BitAllocation.Result;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BitAllocationTest {

    /** The brute-force answer: the first (lexicographic, unit 0 most significant) of the least (cost, size). */
    record Brute(int[] choice, double cost, long size) {}

    static Brute bruteForce(List<List<Option>> units, long budget) {
        int U = units.size();
        int[] idx = new int[U];
        Brute best = null;
        while (true) {
            long size = 0;
            double cost = 0;
            for (int u = 0; u < U; u++) {
                size += units.get(u).get(idx[u]).size();
                cost += units.get(u).get(idx[u]).cost();
            }
            if (size <= budget && (best == null || cost < best.cost || (cost == best.cost && size < best.size))) {
                best = new Brute(idx.clone(), cost, size);
            }
            int u = U - 1;                                   // odometer, last unit fastest
            while (u >= 0 && ++idx[u] == units.get(u).size()) idx[u--] = 0;
            if (u < 0) return best;
        }
    }

    /** Units like VT-PTQ's: sizes = parameters x ascending bits, costs falling with bits (plus noise). */
    static List<List<Option>> randomInstance(SplittableRandom r, boolean integerCosts) {
        return randomInstance(r, integerCosts, 60, 12);
    }

    /** {@code maxParams} and {@code maxCost} small make many equal sizes and costs (ties). */
    static List<List<Option>> randomInstance(SplittableRandom r, boolean integerCosts, int maxParams, int maxCost) {
        int U = r.nextInt(2, 7);
        List<List<Option>> units = new ArrayList<>();
        for (int u = 0; u < U; u++) {
            int K = r.nextInt(3, 6), b0 = r.nextInt(2, 7);
            long params = r.nextInt(1, maxParams);
            boolean arbitrarySizes = r.nextInt(4) == 0;          // some units with unstructured sizes
            List<Option> opts = new ArrayList<>();
            for (int k = 0; k < K; k++) {
                long size = arbitrarySizes ? r.nextInt(0, 400) : params * (b0 + k);
                double cost = integerCosts ? r.nextInt(0, maxCost) : r.nextDouble() * Math.pow(0.5, k);
                opts.add(new Option(b0 + k, size, cost));
            }
            units.add(opts);
        }
        return units;
    }

    static long minSize(List<List<Option>> units) {
        long s = 0;
        for (List<Option> o : units) s += o.stream().mapToLong(Option::size).min().orElseThrow();
        return s;
    }

    static long maxSize(List<List<Option>> units) {
        long s = 0;
        for (List<Option> o : units) s += o.stream().mapToLong(Option::size).max().orElseThrow();
        return s;
    }

    @Test
    void matchesBruteForceWithTies() {
        // integer costs: sums are exact, so the tie rule (least cost, then size, then lexicographic) is checked exactly
        SplittableRandom r = new SplittableRandom(42);
        for (int trial = 0; trial < 400; trial++) {
            // half of the instances tie-heavy: parameters 1..3, costs 0..3
            List<List<Option>> units = trial % 2 == 0 ? randomInstance(r, true) : randomInstance(r, true, 4, 4);
            long lo = minSize(units), hi = maxSize(units);
            long budget = lo + (long) (r.nextDouble(-0.05, 1.1) * (hi - lo));
            if (budget < lo) budget = lo;
            Brute b = bruteForce(units, budget);
            Result got = BitAllocation.solve(units, budget);
            String msg = "trial " + trial + " budget " + budget + " " + units;
            assertTrue(got.exact(), msg);
            assertEquals(b.cost, got.cost(), 0.0, msg);
            assertEquals(b.size, got.size(), msg);
            assertArrayEquals(b.choice, got.choice(), msg);
            for (int u = 0; u < units.size(); u++) assertEquals(units.get(u).get(got.choice()[u]).bits(), got.bits()[u]);
        }
    }

    @Test
    void matchesBruteForceWithRealCosts() {
        SplittableRandom r = new SplittableRandom(7);
        for (int trial = 0; trial < 300; trial++) {
            List<List<Option>> units = randomInstance(r, false);
            long lo = minSize(units), hi = maxSize(units);
            long budget = lo + (long) (r.nextDouble() * (hi - lo));
            Brute b = bruteForce(units, budget);
            Result got = BitAllocation.solve(units, budget);
            String msg = "trial " + trial;
            assertEquals(b.cost, got.cost(), 1e-12 * Math.max(1, b.cost), msg);
            assertTrue(got.size() <= budget, msg);
            double recomputed = 0;
            long size = 0;
            for (int u = 0; u < units.size(); u++) {
                recomputed += units.get(u).get(got.choice()[u]).cost();
                size += units.get(u).get(got.choice()[u]).size();
            }
            assertEquals(recomputed, got.cost(), 1e-12 * Math.max(1, recomputed), msg);
            assertEquals(size, got.size(), msg);
        }
    }

    @Test
    void infeasibleBudgetSaysTheMinimum() {
        List<List<Option>> units = List.of(
                List.of(new Option(4, 8_000_000, 5), new Option(8, 16_000_000, 1)),
                List.of(new Option(4, 4_000_000, 3), new Option(8, 8_000_000, 0)));
        var e = assertThrows(IllegalArgumentException.class, () -> BitAllocation.solve(units, 11_999_999));
        assertTrue(e.getMessage().contains("minimum achievable size 1.50 MB (12000000 bits"), e.getMessage());
        assertEquals(8, BitAllocation.solve(units, 12_000_000).cost());
    }

    @Test
    void budgetAtAllMaxPicksEachUnitsCheapestOption() {
        SplittableRandom r = new SplittableRandom(9);
        for (int trial = 0; trial < 50; trial++) {
            List<List<Option>> units = randomInstance(r, true);
            int[] expected = new int[units.size()];
            double cost = 0;
            for (int u = 0; u < units.size(); u++) {
                List<Option> o = units.get(u);
                int best = 0;
                for (int k = 1; k < o.size(); k++) {
                    Option a = o.get(k), b = o.get(best);
                    if (a.cost() < b.cost() || (a.cost() == b.cost() && a.size() < b.size())) best = k;
                }
                expected[u] = best;
                cost += o.get(best).cost();
            }
            Result got = BitAllocation.solve(units, maxSize(units));
            assertEquals(cost, got.cost(), 0.0);
            assertArrayEquals(expected, got.choice(), "trial " + trial);
            // a budget above all-max changes nothing
            assertArrayEquals(expected, BitAllocation.solve(units, maxSize(units) * 3 + 17).choice());
        }
    }

    @Test
    void tiesAreBrokenDeterministically() {
        // equal costs everywhere: smallest total size, i.e. every unit at its smallest option
        List<List<Option>> same = List.of(
                List.of(new Option(4, 40, 1), new Option(5, 50, 1), new Option(6, 60, 1)),
                List.of(new Option(4, 80, 1), new Option(5, 100, 1), new Option(6, 120, 1)));
        assertArrayEquals(new int[] {0, 0}, BitAllocation.solve(same, 1000).choice());
        // equal cost and equal size in two ways: the first unit takes its earlier option
        List<List<Option>> swap = List.of(
                List.of(new Option(4, 10, 2), new Option(5, 20, 1)),
                List.of(new Option(4, 10, 2), new Option(5, 20, 1)));
        Result r = BitAllocation.solve(swap, 30);
        assertArrayEquals(new int[] {0, 1}, r.choice());
        assertEquals(3, r.cost());
        assertEquals(30, r.size());
        // identical options: the earlier index
        List<List<Option>> dup = List.of(List.of(new Option(6, 10, 1), new Option(7, 10, 1)));
        assertArrayEquals(new int[] {0}, BitAllocation.solve(dup, 10).choice());
    }

    @Test
    void widenedStepStaysFeasibleAndOptimalForRoundedSizes() {
        SplittableRandom r = new SplittableRandom(11);
        int widened = 0;
        for (int trial = 0; trial < 200; trial++) {
            List<List<Option>> units = randomInstance(r, true);
            long lo = minSize(units), hi = maxSize(units);
            long budget = lo + (long) (r.nextDouble() * (hi - lo));
            Result got = BitAllocation.solve(units, budget, 4L * units.size());   // at most ~3 steps
            Brute exact = bruteForce(units, budget);
            assertTrue(got.size() <= budget);
            assertTrue(got.cost() >= exact.cost);
            if (!got.exact()) widened++;
            // brute force on the rounded-up increments in the reported step gives the same cost
            long step = got.step();
            long slack = Math.min(budget - lo, hi - lo);
            List<List<Option>> rounded = new ArrayList<>();
            for (List<Option> o : units) {
                long min = o.stream().mapToLong(Option::size).min().orElseThrow();
                rounded.add(o.stream().map(x -> new Option(x.bits(), -Math.floorDiv(-(x.size() - min), step), x.cost())).toList());
            }
            assertEquals(bruteForce(rounded, slack / step).cost, got.cost(), 0.0, "trial " + trial);
        }
        assertTrue(widened > 100, "widened in " + widened + " trials");
    }

    @Test
    void deitBaseSizedInstanceIsExactAndQuick() {
        // 24 units of DeiT-B (MSA 2,362,368 and MLP 4,722,432 parameters), candidates 6..10, budget = all at 8 bits
        long msa = 2_362_368, mlp = 4_722_432;
        SplittableRandom r = new SplittableRandom(13);
        List<List<Option>> units = new ArrayList<>();
        long budget = 0;
        for (int u = 0; u < 24; u++) {
            long p = u % 2 == 0 ? msa : mlp;
            double nuc = r.nextDouble(1, 100);
            List<Option> o = new ArrayList<>();
            for (int b = 6; b <= 10; b++) o.add(new Option(b, p * b, nuc * Math.pow(4, -b) * r.nextDouble(0.5, 2)));
            units.add(o);
            budget += p * 8;
        }
        long t0 = System.nanoTime();
        Result got = BitAllocation.solve(units, budget);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(got.exact());
        assertEquals(768, got.step());
        assertTrue(got.size() <= budget);
        assertTrue(ms < 5000, ms + " ms");
        // greedy check: no single unit can move one bit up within the budget and lower the cost
        for (int u = 0; u < 24; u++) {
            int k = got.choice()[u];
            if (k + 1 < 5) {
                Option up = units.get(u).get(k + 1), cur = units.get(u).get(k);
                if (got.size() - cur.size() + up.size() <= budget) assertTrue(up.cost() >= cur.cost());
            }
        }
    }

    @Test
    void rejectsBadOptions() {
        assertThrows(IllegalArgumentException.class, () -> new Option(4, -1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Option(4, 1, -0.5));
        assertThrows(IllegalArgumentException.class, () -> new Option(4, 1, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> BitAllocation.solve(List.of(), 10));
        assertThrows(IllegalArgumentException.class, () -> BitAllocation.solve(List.of(List.of()), 10));
        assertFalse(BitAllocation.solve(List.of(List.of(new Option(4, 0, 0))), 0).cost() > 0);
    }
}
