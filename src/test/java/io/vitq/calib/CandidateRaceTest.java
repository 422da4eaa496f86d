package io.vitq.calib;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CandidateRace} against the plain argmax of complete sums: random non-positive per-sample
 * scores (with deliberate ties between candidates and groups whose winners differ), the winners of
 * every group equal, completed candidates' sums equal bit for bit, and fewer samples scored.
 */
class CandidateRaceTest {

    @Test
    void picksTheExhaustiveWinnersOfEveryGroupTiesIncluded() {
        SplittableRandom r = new SplittableRandom(7);
        for (int trial = 0; trial < 200; trial++) {
            int count = 1 + r.nextInt(40), groups = 1 + r.nextInt(5), samples = 1 + r.nextInt(20), chunk = 1 + r.nextInt(6);
            double[][][] s = scores(r, count, groups, samples);
            CandidateRace race = new CandidateRace(count, groups, samples, chunk);
            double[][] got = race.run(i -> scorer(s[i], groups));
            double[][] full = exhaustive(s, count, groups, samples);
            for (int gr = 0; gr < groups; gr++) {
                int w = argmax(full, gr);
                assertEquals(w, argmax(got, gr), "trial " + trial + " group " + gr);
                assertEquals(full[w][gr], got[w][gr], "the winner's sum, bit for bit");
            }
            assertTrue(race.scored() <= (long) count * samples);
        }
    }

    @Test
    void keepsTheExhaustiveBestFewInOrder() {
        SplittableRandom r = new SplittableRandom(9);
        for (int trial = 0; trial < 200; trial++) {
            int count = 1 + r.nextInt(60), samples = 1 + r.nextInt(20), chunk = 1 + r.nextInt(6), keep = 1 + r.nextInt(10);
            double[][][] s = scores(r, count, 1, samples);
            double[][] got = new CandidateRace(count, 1, samples, chunk).keeping(keep).run(i -> scorer(s[i], 1));
            double[][] full = exhaustive(s, count, 1, samples);
            int[] want = bestFirst(full), have = bestFirst(got);
            for (int j = 0; j < Math.min(keep, count); j++) {
                assertEquals(want[j], have[j], "trial " + trial + ": place " + j);
                assertEquals(full[want[j]][0], got[have[j]][0], "the kept score, bit for bit");
            }
        }
    }

    @Test
    void summedPicksTheExhaustiveWinnerOfTheGroupsSum() {
        SplittableRandom r = new SplittableRandom(5);
        for (int trial = 0; trial < 200; trial++) {
            int count = 1 + r.nextInt(40), groups = 1 + r.nextInt(4), samples = 1 + r.nextInt(20), chunk = 1 + r.nextInt(6);
            double[][][] s = scores(r, count, groups, samples);
            double[][] got = new CandidateRace(count, groups, samples, chunk).summed().run(i -> scorer(s[i], groups));
            double[][] full = exhaustive(s, count, groups, samples);
            double[][] wantSum = new double[count][1], gotSum = new double[count][1];
            for (int i = 0; i < count; i++)
                for (int gr = 0; gr < groups; gr++) {
                    wantSum[i][0] += full[i][gr];
                    gotSum[i][0] += got[i][gr];
                }
            int w = argmax(wantSum, 0);
            assertEquals(w, argmax(gotSum, 0), "trial " + trial);
            assertEquals(wantSum[w][0], gotSum[w][0], "the winner's objective, bit for bit");
        }
    }

    /** Candidates by score, best first, ties in index order (AdaLogSearch.best's order). */
    private static int[] bestFirst(double[][] scores) {
        Integer[] o = new Integer[scores.length];
        for (int i = 0; i < o.length; i++) o[i] = i;
        java.util.Arrays.sort(o, (a, b) -> Double.compare(scores[b][0], scores[a][0]));
        int[] out = new int[o.length];
        for (int i = 0; i < o.length; i++) out[i] = o[i];
        return out;
    }

    @Test
    void prunesCandidatesFarFromTheBest() {
        // scores that grow with the distance from candidate 30: far candidates lose on their first chunk
        int count = 100, samples = 32;
        double[][][] s = new double[count][samples][1];
        for (int i = 0; i < count; i++) for (int t = 0; t < samples; t++) s[i][t][0] = -(1 + 100 * Math.abs(i - 30)) * (1 + t % 3);
        CandidateRace race = new CandidateRace(count, 1, samples, 4);
        double[][] got = race.run(i -> scorer(s[i], 1));
        assertEquals(30, argmax(got, 0));
        // the pilot (candidate 74) on every sample, every other candidate on the first chunk, then the
        // winner completed; nothing else can pass it
        assertEquals(samples + (count - 1) * 4 + (samples - 4), race.scored());
    }

    @Test
    void chunkOfAllSamplesScoresEverything() {
        SplittableRandom r = new SplittableRandom(3);
        double[][][] s = scores(r, 10, 2, 6);
        CandidateRace race = new CandidateRace(10, 2, 6, 6);
        double[][] got = race.run(i -> scorer(s[i], 2));
        double[][] full = exhaustive(s, 10, 2, 6);
        for (int i = 0; i < 10; i++) assertEquals(full[i][0], got[i][0]);
        assertEquals(60, race.scored());
    }

    @Test
    void nanScoresPruneNothing() {
        double[][][] s = new double[3][4][1];
        s[0][1][0] = Double.NaN;
        s[1][0][0] = -1;
        s[2][0][0] = -5;
        CandidateRace race = new CandidateRace(3, 1, 4, 1);
        double[][] got = race.run(i -> scorer(s[i], 1));
        assertEquals(argmax(exhaustive(s, 3, 1, 4), 0), argmax(got, 0));
    }

    /** Random non-positive scores on a coarse grid (many exact ties), some candidates copies of others. */
    private static double[][][] scores(SplittableRandom r, int count, int groups, int samples) {
        double[][][] s = new double[count][samples][groups];
        for (int i = 0; i < count; i++) {
            if (i > 0 && r.nextInt(4) == 0) {
                int j = r.nextInt(i);
                for (int t = 0; t < samples; t++) s[i][t] = s[j][t].clone();
                continue;
            }
            for (int t = 0; t < samples; t++) for (int gr = 0; gr < groups; gr++) s[i][t][gr] = -r.nextInt(4) * 0.25;
        }
        return s;
    }

    private static CandidateRace.Scorer scorer(double[][] perSample, int groups) {
        return (which, alive, out) -> {
            for (int j = 0; j < which.length; j++)
                for (int gr = 0; gr < groups; gr++) out[j][gr] = alive[gr] ? perSample[which[j]][gr] : Double.NaN;
        };
    }

    private static double[][] exhaustive(double[][][] s, int count, int groups, int samples) {
        double[][] total = new double[count][groups];
        for (int i = 0; i < count; i++) for (int t = 0; t < samples; t++) for (int gr = 0; gr < groups; gr++) total[i][gr] += s[i][t][gr];
        return total;
    }

    /** The searches' argmax: the first maximum. */
    private static int argmax(double[][] scores, int group) {
        int b = 0;
        for (int i = 1; i < scores.length; i++) if (scores[i][group] > scores[b][group]) b = i;
        return b;
    }
}
