package io.vitq.eval;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Interleaved timing: the jobs take turns round by round, each round is reported, the totals add up. */
class ThroughputTest {
    @Test
    void jobsTakeTurnsInEveryRound() throws Exception {
        List<Integer> order = new ArrayList<>();
        boolean[] timing = {false};
        List<Throughput.Job> jobs = List.of(
                () -> { if (timing[0]) order.add(0); Thread.sleep(2); },
                () -> { if (timing[0]) order.add(1); Thread.sleep(8); });
        // warm-up runs are not recorded: flip the flag once both jobs ran their two warm-up runs
        List<Throughput.Job> recorded = List.of(
                counting(jobs.get(0), timing, 2, null), counting(jobs.get(1), timing, 2, timing));
        List<Throughput.Result> r = Throughput.interleaved(recorded, 8, 0, 0.06, 3);
        assertEquals(2, r.size());
        // three rounds: in each, all of one job's runs, then all of the other's, in the round's order
        List<Integer> switches = new ArrayList<>(), expected = new ArrayList<>();
        for (int i = 0; i < order.size(); i++) if (i == 0 || !order.get(i).equals(order.get(i - 1))) switches.add(order.get(i));
        for (int round = 0; round < 3; round++)
            for (int j : Throughput.roundOrder(2, round))
                if (expected.isEmpty() || expected.getLast() != j) expected.add(j);
        assertEquals(expected, switches, order.toString());
        for (int j = 0; j < 2; j++) {
            Throughput.Result res = r.get(j);
            assertEquals(3, res.rounds().size());
            int j0 = j;
            assertEquals(order.stream().filter(x -> x == j0).count(), res.runs());
            assertTrue(res.seconds() >= 0.06 - 1e-9, res.toString());
            assertTrue(res.slowestRound() <= res.imagesPerSecond() && res.imagesPerSecond() <= res.fastestRound(), res.toString());
        }
        // the 8 ms job runs at a fraction of the images/s of the 2 ms one (sleeps overshoot on a loaded machine: not a quarter)
        assertTrue(r.get(1).imagesPerSecond() < 0.8 * r.get(0).imagesPerSecond(), r.toString());
        assertThrows(IllegalArgumentException.class, () -> Throughput.interleaved(jobs, 1, 0, 1, 0));
    }

    /** Each round's order is a permutation, the given one first; later rounds do not all repeat it. */
    @Test
    void roundOrdersArePermutationsThatVary() {
        for (int n : new int[] {1, 2, 3, 7}) {
            int[] identity = java.util.stream.IntStream.range(0, n).toArray();
            assertArrayEquals(identity, Throughput.roundOrder(n, 0));
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (int round = 0; round < 5; round++) {
                int[] o = Throughput.roundOrder(n, round);
                assertArrayEquals(identity, java.util.Arrays.stream(o).sorted().toArray(), "round " + round);
                seen.add(java.util.Arrays.toString(o));
            }
            if (n >= 3) assertTrue(seen.size() >= 3, n + " jobs: " + seen);
        }
    }

    /** The job, counting its calls; after {@code warmups} calls of the last job, timing starts. */
    private static Throughput.Job counting(Throughput.Job job, boolean[] timing, int warmups, boolean[] flip) {
        int[] calls = {0};
        return () -> {
            job.run();
            if (flip != null && ++calls[0] == warmups) flip[0] = true;
        };
    }
}
