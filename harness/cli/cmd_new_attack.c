/* keybench new-attack NAME [DIR]: scaffold an out-of-tree attack plugin.
 *
 * The files are plugins/attack-template/ of the source tree, embedded at
 * build time (harness/cli/embed_files.py), with every "attack_template" in
 * their names and text replaced by NAME. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <keybench/common.h>
#include "commands.h"

struct kb_embedded_file {
    const char *name;
    const char *text;
};

#include "attack_template_files.h"

#define PLACEHOLDER "attack_template"
#define NAME_MAX_LEN 64

static void usage(FILE *f)
{
    fprintf(f, "usage: keybench new-attack NAME [DIR]\n"
               "Write an out-of-tree attack plugin NAME into DIR (default ./NAME): NAME.c (a small\n"
               "but real attack: the mean accuracy of the protected model under random keys),\n"
               "meson.build (builds NAME.so against the installed keybench.pc), test_NAME.c (a\n"
               "Criterion test that loads the module and checks its descriptor), meson_options.txt\n"
               "and README.md. NAME must match [a-z][a-z0-9_]* (at most %d characters); an\n"
               "existing DIR is refused.\n", NAME_MAX_LEN);
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* A new string: `text` with every PLACEHOLDER replaced by `name`. */
static char *substitute(const char *text, const char *name)
{
    size_t pl = strlen(PLACEHOLDER), nl = strlen(name), count = 0;
    for (const char *p = strstr(text, PLACEHOLDER); p; p = strstr(p + pl, PLACEHOLDER))
        count++;
    size_t len = strlen(text) + count * nl + 1;  /* nl <= NAME_MAX_LEN: no overflow */
    char *out = malloc(len), *o = out;
    if (!out)
        return NULL;
    for (const char *p = text;;) {
        const char *hit = strstr(p, PLACEHOLDER);
        size_t k = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(o, p, k);
        o += k;
        if (!hit)
            break;
        memcpy(o, name, nl);
        o += nl;
        p = hit + pl;
    }
    *o = '\0';
    return out;
}

/* Write a new file (never overwrite); 0 or -1 with a message printed. */
static int write_new(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "keybench new-attack: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            fprintf(stderr, "keybench new-attack: %s: write failed: %s\n", path,
                    w < 0 ? strerror(errno) : "no progress");
            close(fd);
            unlink(path); /* ours (O_EXCL): never leave it half-written */
            return -1;
        }
        off += (size_t)w;
    }
    if (close(fd) < 0) {
        fprintf(stderr, "keybench new-attack: %s: %s\n", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

int kb_cmd_new_attack(int argc, char **argv)
{
    const char *name = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "keybench new-attack: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!name) {
            name = argv[i];
        } else if (!dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "keybench new-attack: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!name) {
        usage(stderr);
        return 2;
    }
    if (!valid_name(name)) {
        fprintf(stderr, "keybench new-attack: invalid name '%s'; expected [a-z][a-z0-9_]*, "
                        "at most %d characters (it names the plugin, its .so and its C symbols)\n",
                name, NAME_MAX_LEN);
        return 2;
    }
    if (!dir)
        dir = name;
    struct stat st;
    if (lstat(dir, &st) == 0) {
        fprintf(stderr, "keybench new-attack: %s already exists; choose a new folder\n", dir);
        return 1;
    }
    if (errno != ENOENT) {
        fprintf(stderr, "keybench new-attack: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (mkdir(dir, 0755) < 0) {
        fprintf(stderr, "keybench new-attack: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int rc = 0;
    size_t written = 0;
    for (const struct kb_embedded_file *f = kb_attack_template_files; f->name && rc == 0; f++) {
        char *fname = substitute(f->name, name), *text = substitute(f->text, name);
        size_t plen = strlen(dir) + 1 + (fname ? strlen(fname) : 0) + 1;
        char *path = malloc(plen);
        if (!fname || !text || !path) {
            fprintf(stderr, "keybench new-attack: out of memory\n");
            rc = -1;
        } else {
            snprintf(path, plen, "%s/%s", dir, fname);
            if (write_new(path, text) < 0)
                rc = -1;
            else
                written++;
        }
        free(fname), free(text), free(path);
    }
    if (rc < 0) {
        /* Leave nothing half-made: remove what was written, then the folder. */
        for (const struct kb_embedded_file *f = kb_attack_template_files; written && f->name; f++) {
            char *fname = substitute(f->name, name);
            if (fname) {
                size_t plen = strlen(dir) + strlen(fname) + 2;
                char *path = malloc(plen);
                if (path) {
                    snprintf(path, plen, "%s/%s", dir, fname);
                    unlink(path);
                }
                free(path);
            }
            free(fname);
        }
        rmdir(dir);
        return 1;
    }
    printf("wrote attack plugin '%s' in %s/:\n", name, dir);
    for (const struct kb_embedded_file *f = kb_attack_template_files; f->name; f++) {
        char *fname = substitute(f->name, name);
        printf("  %s\n", fname ? fname : f->name);
        free(fname);
    }
    printf("build it:  cd %s && meson setup build && meson compile -C build && meson test -C build\n"
           "use it:    KEYBENCH_PLUGIN_PATH=$PWD/build keybench run SPEC  (attacks: [%s])\n",
           dir, name);
    return 0;
}
