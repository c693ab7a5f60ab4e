/* PNG folders: DIR/<class>/<file>.png, classes = sub-folder names in strcmp order. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <keybench/dataset.h>
#include <keybench/image.h>

#include "data/dataset_internal.h"

struct strlist {
    char **v;
    size_t n, cap;
};

static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int strlist_push(struct strlist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n] = strdup(s);
    if (!l->v[l->n])
        return -1;
    l->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_png_ext(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

/* Entries of `dir` that are folders (want_dirs) or .png files, sorted. */
static int list_dir(struct strlist *out, const char *dir, bool want_dirs, size_t *n_png_seen,
                    struct kb_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return kb_error_set(err, "%s: cannot open folder: %s", dir, strerror(errno));
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) {
            closedir(d);
            return kb_error_set(err, "%s/%s: path too long", dir, e->d_name);
        }
        struct stat st;
        if (stat(path, &st) < 0)
            continue;
        bool png = S_ISREG(st.st_mode) && has_png_ext(e->d_name);
        bool take = want_dirs ? S_ISDIR(st.st_mode) : png;
        if (n_png_seen && png)
            (*n_png_seen)++;
        if (take && strlist_push(out, e->d_name) < 0) {
            closedir(d);
            return kb_error_set(err, "%s: out of memory", dir);
        }
    }
    closedir(d);
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return 0;
}

int kb_dataset_load_png_dir(struct kb_dataset *ds, const char *dir, struct kb_error *err)
{
    memset(ds, 0, sizeof *ds);
    struct strlist classes = {0}, files = {0};
    uint32_t *file_class = NULL;
    size_t n_loose = 0;
    int rc = -1;
    struct kb_image img = {0};
    char first[4096] = "";

    if (list_dir(&classes, dir, true, &n_loose, err) < 0)
        goto out;
    if (classes.n == 0) {
        kb_error_set(err, "%s: no class sub-folders%s; expected %s/<class>/*.png", dir,
                     n_loose ? " (only loose .png files)" : "", dir);
        goto out;
    }
    if (classes.n > KB_DATASET_MAX_CLASSES) {
        kb_error_set(err, "%s: %zu class folders; expected at most %u", dir, classes.n,
                     KB_DATASET_MAX_CLASSES);
        goto out;
    }
    /* Collect every file path, class by class. */
    size_t cap = 0;
    for (size_t k = 0; k < classes.n; k++) {
        char cdir[4096];
        if ((size_t)snprintf(cdir, sizeof cdir, "%s/%s", dir, classes.v[k]) >= sizeof cdir) {
            kb_error_set(err, "%s/%s: path too long", dir, classes.v[k]);
            goto out;
        }
        struct strlist names = {0};
        if (list_dir(&names, cdir, false, NULL, err) < 0) {
            strlist_free(&names);
            goto out;
        }
        if (names.n == 0) {
            kb_error_set(err, "%s: class folder '%s' has no .png files; expected at least one "
                         "image per class", cdir, classes.v[k]);
            strlist_free(&names);
            goto out;
        }
        for (size_t i = 0; i < names.n; i++) {
            char p[8192];
            snprintf(p, sizeof p, "%s/%s", cdir, names.v[i]);
            if (files.n == cap) {
                cap = cap ? cap * 2 : 256;
                uint32_t *nc = realloc(file_class, cap * sizeof *nc);
                if (!nc) {
                    strlist_free(&names);
                    kb_error_set(err, "%s: out of memory", dir);
                    goto out;
                }
                file_class = nc;
            }
            if (strlist_push(&files, p) < 0) {
                strlist_free(&names);
                kb_error_set(err, "%s: out of memory", dir);
                goto out;
            }
            file_class[files.n - 1] = (uint32_t)k;
        }
        strlist_free(&names);
        if (files.n > KB_DATASET_MAX_IMAGES) {
            kb_error_set(err, "%s: more than %u images; expected at most that", dir,
                         KB_DATASET_MAX_IMAGES);
            goto out;
        }
    }
    /* Read them; the first fixes the shape. */
    size_t sz = 0;
    for (size_t i = 0; i < files.n; i++) {
        if (kb_png_read(&img, files.v[i], err) < 0)
            goto out;
        if (i == 0) {
            if (kb_dataset_alloc_raw(ds, (uint32_t)files.n, img.h, img.w, img.c, files.v[i],
                                     err) < 0)
                goto out;
            sz = kb_dataset_image_size(ds);
            snprintf(first, sizeof first, "%s", files.v[i]);
        } else if (img.h != ds->h || img.w != ds->w || img.c != ds->c) {
            kb_error_set(err, "%s: image is %ux%ux%u (HxWxC); expected %ux%ux%u like %s",
                         files.v[i], img.h, img.w, img.c, ds->h, ds->w, ds->c, first);
            goto out;
        }
        memcpy(ds->images + i * sz, img.pixels, sz);
        ds->labels[i] = file_class[i];
        kb_image_free(&img);
    }
    ds->n_classes = (uint32_t)classes.n;
    if (kb_dataset_set_class_names(ds, (const char *const *)classes.v, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0) {
        if (!ds->class_names)
            ds->n_classes = 0;
        kb_dataset_free(ds);
    }
    kb_image_free(&img);
    free(file_class);
    strlist_free(&files);
    strlist_free(&classes);
    return rc;
}
