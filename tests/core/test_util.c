#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <keybench/common.h>

Test(suggest, finds_typos_and_transpositions)
{
    const char *names[] = { "pixel_shuffle", "negpos", "ffx", "block_scramble", "none" };
    char out[256];
    cr_assert_eq(kb_suggest(out, sizeof out, "pixel_shufle", names, 5), 1);
    cr_assert_str_eq(out, "'pixel_shuffle'");
    cr_assert_gt(kb_suggest(out, sizeof out, "negops", names, 5), 0);
    cr_assert(strncmp(out, "'negpos'", 8) == 0, "%s", out);
    cr_assert_eq(kb_suggest(out, sizeof out, "resnet", names, 5), 0);
    cr_assert_str_eq(out, "");
}

Test(suggest, best_first_at_most_three)
{
    const char *names[] = { "seed", "seeds", "speed", "steed", "send", "x" };
    char out[256];
    int n = kb_suggest(out, sizeof out, "seed", names, 6);
    cr_assert_eq(n, 3);
    cr_assert(strncmp(out, "'seed'", 6) == 0, "%s", out);
}

Test(error, set_and_prefix)
{
    struct kb_error e = {0};
    cr_assert_eq(kb_error_set(&e, "bad %d", 3), -1);
    cr_assert_eq(kb_error_prefix(&e, "f.yaml:%d:%d", 2, 5), -1);
    cr_assert_str_eq(e.msg, "f.yaml:2:5: bad 3");
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)))
        if (ent->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

Test(file, atomic_write_read_exclusive)
{
    char dir[] = "/tmp/kbfileXXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    struct kb_error e = {0};
    cr_assert_eq(kb_file_write_atomic(path, "hello", 5, 0640, false, &e), 0, "%s", e.msg);
    cr_assert_eq(kb_file_write_atomic(path, "world!", 6, 0640, false, &e), 0, "%s", e.msg);
    uint8_t *data;
    size_t n;
    cr_assert_eq(kb_file_read_all(path, 100, &data, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 6);
    cr_assert_str_eq((char *)data, "world!");
    free(data);
    cr_assert_eq(kb_file_read_all(path, 3, &data, &n, &e), -1);
    cr_assert(strstr(e.msg, "at most 3"), "%s", e.msg);
    cr_assert_eq(kb_file_write_atomic(path, "x", 1, 0600, true, &e), -1);
    cr_assert(strstr(e.msg, "already exists"), "%s", e.msg);
    struct stat st;
    stat(path, &st);
    cr_assert_eq(st.st_mode & 0777, 0640);
    cr_assert_eq(count_entries(dir), 1, "no temp files left behind");
    unlink(path);
    rmdir(dir);
}

Test(file, write_into_missing_dir_fails_cleanly)
{
    struct kb_error e = {0};
    cr_assert_eq(kb_file_write_atomic("/tmp/kb-no-such-dir/x/y", "a", 1, 0600, false, &e), -1);
    cr_assert(strstr(e.msg, "/tmp/kb-no-such-dir/x/y"), "%s", e.msg);
}
