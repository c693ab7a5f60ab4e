#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <keybench/journal.h>

static char dir[64], path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/kbjournalXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

TestSuite(journal, .init = setup, .fini = teardown);

static void append(struct kb_journal *j, int i)
{
    struct kb_error err = {0};
    json_t *rec = json_pack("{s:i, s:s}", "i", i, "metric", "accuracy");
    cr_assert_eq(kb_journal_append(j, rec, &err), 0, "%s", err.msg);
    json_decref(rec);
}

Test(journal, append_and_read_back)
{
    struct kb_error err = {0};
    struct kb_journal *j;
    cr_assert_eq(kb_journal_open(&j, path, &err), 0, "%s", err.msg);
    for (int i = 0; i < 5; i++)
        append(j, i);
    kb_journal_close(j);
    json_t *recs;
    bool trunc = true;
    cr_assert_eq(kb_journal_read(&recs, path, &trunc, &err), 0, "%s", err.msg);
    cr_assert(!trunc);
    cr_assert_eq(json_array_size(recs), 5);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(recs, 3), "i")), 3);
    json_decref(recs);
}

Test(journal, killed_writer_loses_only_the_last_line)
{
    struct kb_error err = {0};
    struct kb_journal *j;
    cr_assert_eq(kb_journal_open(&j, path, &err), 0);
    append(j, 0);
    append(j, 1);
    kb_journal_close(j);
    /* simulate a write cut short */
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert(write(fd, "{\"i\":2,\"met", 11) == 11);
    close(fd);
    json_t *recs;
    bool trunc = false;
    cr_assert_eq(kb_journal_read(&recs, path, &trunc, &err), 0, "%s", err.msg);
    cr_assert(trunc);
    cr_assert_eq(json_array_size(recs), 2);
    json_decref(recs);
    /* reopening cuts the fragment; new records follow cleanly */
    cr_assert_eq(kb_journal_open(&j, path, &err), 0);
    append(j, 3);
    kb_journal_close(j);
    cr_assert_eq(kb_journal_read(&recs, path, &trunc, &err), 0, "%s", err.msg);
    cr_assert(!trunc);
    cr_assert_eq(json_array_size(recs), 3);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(recs, 2), "i")), 3);
    json_decref(recs);
}

Test(journal, corrupt_line_names_file_and_line)
{
    FILE *f = fopen(path, "w");
    fputs("{\"i\":0}\nnot json\n{\"i\":2}\n", f);
    fclose(f);
    json_t *recs;
    struct kb_error err = {0};
    cr_assert_eq(kb_journal_read(&recs, path, NULL, &err), -1);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, ":2:"), "%s", err.msg);
}

Test(stats, wilson_known_values)
{
    double lo, hi;
    /* 81/100 at z=1.96: [0.7222, 0.8749] (Wilson 1927; e.g. statsmodels proportion_confint) */
    kb_wilson(&lo, &hi, 81, 100, 1.96);
    cr_assert_float_eq(lo, 0.7222, 1e-4);
    cr_assert_float_eq(hi, 0.8749, 1e-4);
    kb_wilson(&lo, &hi, 0, 10, 1.96);
    cr_assert_float_eq(lo, 0.0, 1e-12);
    cr_assert_float_eq(hi, 0.2775, 1e-4);
    kb_wilson(&lo, &hi, 0, 0, 1.96);
    cr_assert(lo == 0.0 && hi == 1.0);
}

Test(stats, summary)
{
    double x[] = { 1, 2, 3, 4 };
    double mean, std, mn, mx;
    kb_summary(&mean, &std, &mn, &mx, x, 4);
    cr_assert_float_eq(mean, 2.5, 1e-12);
    cr_assert_float_eq(std, sqrt(5.0 / 3.0), 1e-12);
    cr_assert(mn == 1 && mx == 4);
    kb_summary(&mean, &std, NULL, NULL, x, 1);
    cr_assert(mean == 1 && std == 0);
}

Test(provenance, has_fields)
{
    json_t *p = kb_provenance();
    cr_assert_not_null(p);
    cr_assert_str_eq(json_string_value(json_object_get(p, "keybench_version")), kb_version());
    cr_assert_not_null(json_object_get(p, "git"));
    cr_assert(json_is_boolean(json_object_get(p, "git_dirty")));
    cr_assert_gt(strlen(json_string_value(json_object_get(p, "openblas"))), 0);
    json_decref(p);
}
