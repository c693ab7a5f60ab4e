/* Fixed run directories for the report tests (fixture.c). */
#ifndef KB_TEST_REPORT_FIXTURE_H
#define KB_TEST_REPORT_FIXTURE_H

enum report_fixture {
    /* 4 cell groups (none M=4, negpos M=2, negpos M=4, block_scramble M=4) × seeds 0, 1;
     * block_scramble seed 1 failed; negpos M=4 has every attack (fine-tune at n=10
     * and 50, key estimation random + bitflip with curves, pgd, brute force,
     * wrong_key); per-class records for 3 classes; timings */
    REPORT_FIXTURE_A,
    /* the same run again: negpos M=2 0.2 lower with the correct key (and its
     * classes); every other correct-key and attack accuracy 0.002 higher */
    REPORT_FIXTURE_B,
    /* A with a hostile spec name, spec path, axis value, class name and error:
     * <script>alert("x")</script> & | % _ \ $ # ^ ~ {} [x] */
    REPORT_FIXTURE_HOSTILE,
};

#define REPORT_FIXTURE_HOSTILE_TEXT "<script>alert(\"x\")</script> & | % _ \\ $ # ^ ~ {} [x]"

/* Write the run directory DIR (created; its parent must exist). Exits 2 on an I/O error. */
void report_fixture_write(const char *dir, enum report_fixture kind);

#endif
