/* The plugin registry: finds plugin shared objects, dlopens them, checks every
 * descriptor against the ABI and registers all of a file's plugins or none.
 *
 * Search order (kb_registry_open):
 *   1. the build's plugin folders (KB_BUILD_PLUGIN_DIRS) when the running
 *      libkeybench is the build-tree one; otherwise the installed plugin folder
 *      (LIBDIR/keybench/plugins beside the running library, falling back to the
 *      configured KB_INSTALL_PLUGIN_DIR);
 *   2. every folder of the colon-separated KEYBENCH_PLUGIN_PATH (empty entries ignored);
 *   3. `extra_dirs` (a spec's plugin_path).
 * A folder that does not exist is skipped; a folder listed twice and a file
 * already loaded (same real path) are loaded once.
 *
 * Strictness: a bad plugin file in any searched folder makes kb_registry_open
 * fail with the one-line error of that file. A broken plugin is never ignored
 * silently — a spec could otherwise run against a different plugin than the
 * user expects. Names are global across kinds: two plugins with one name (in
 * one file or two) are an error naming both files.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include <keybench/registry.h>
#include "kb_config.h"

#define KB_MAX_PLUGINS_PER_FILE 1024
#define KB_MAX_PARAMS 256

/* The first layouts of ABI 1: a struct smaller than these (or larger than the
 * host's) is refused. They equal the current sizes until a table grows. */
#define KB_PLUGIN_SIZE_V1 sizeof(struct kb_plugin)
/* The first ABI 1 layout ended at decrypt; key_swap/key_flip were added at the end. */
#define KB_TRANSFORM_OPS_SIZE_V1 offsetof(struct kb_transform_ops, key_swap)
/* ... and attacks' at run; check was added at the end. */
#define KB_ATTACK_OPS_SIZE_V1 offsetof(struct kb_attack_ops, check)
#define KB_BACKBONE_OPS_SIZE_V1 sizeof(struct kb_backbone_ops)

struct reg_file {
    char *path;      /* as given */
    char *real;      /* realpath, for de-duplication */
    void *handle;    /* dlopen handle; NULL for builtins */
    char hash[65];   /* BLAKE2b-256 hex */
};

struct reg_entry {
    const struct kb_plugin *p;
    size_t file;     /* index into files; SIZE_MAX: builtin */
    char *origin;    /* builtin origin */
};

struct kb_registry {
    struct reg_entry *entries;
    size_t n, cap;
    struct reg_file *files;
    size_t n_files, cap_files;
    char **dirs;     /* folders searched by kb_registry_open, in order */
    size_t n_dirs;
};

const char *kb_plugin_kind_name(uint32_t kind)
{
    switch (kind) {
    case KB_KIND_TRANSFORM: return "transform";
    case KB_KIND_BACKBONE: return "backbone";
    case KB_KIND_ATTACK: return "attack";
    default: return NULL;
    }
}

struct kb_registry *kb_registry_new(void)
{
    return calloc(1, sizeof(struct kb_registry));
}

void kb_registry_free(struct kb_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->entries[i].origin);
    free(r->entries);
    /* Close in reverse load order. */
    for (size_t i = r->n_files; i-- > 0;) {
        if (r->files[i].handle)
            dlclose(r->files[i].handle);
        free(r->files[i].path);
        free(r->files[i].real);
    }
    free(r->files);
    for (size_t i = 0; i < r->n_dirs; i++)
        free(r->dirs[i]);
    free(r->dirs);
    free(r);
}

static const char *entry_origin(const struct kb_registry *r, const struct reg_entry *e)
{
    if (e->file == SIZE_MAX)
        return e->origin ? e->origin : "(builtin)";
    return r->files[e->file].path;
}

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static bool empty_str(const char *s)
{
    return !s || !*s;
}

/* "transform 'ffx'" or "descriptor #2" for messages. */
static void describe(char *out, size_t n, const struct kb_plugin *p, size_t idx, bool name_ok)
{
    if (name_ok && valid_name(p->name))
        snprintf(out, n, "plugin '%s'", p->name);
    else
        snprintf(out, n, "descriptor #%zu", idx);
}

static int check_params(const struct kb_plugin *p, const char *origin, const char *who,
                        struct kb_error *err)
{
    if (!p->params)
        return 0;
    size_t n = 0;
    for (; n < KB_MAX_PARAMS && p->params[n].name; n++) {
        const struct kb_param *d = &p->params[n];
        if (!valid_name(d->name))
            return kb_error_set(err, "%s: %s: parameter #%zu has an invalid name '%s' "
                                "(expected [a-z0-9_]+)", origin, who, n, d->name);
        if (d->type < KB_PARAM_INT || d->type > KB_PARAM_CHOICE)
            return kb_error_set(err, "%s: %s: parameter '%s' has unknown type %d "
                                "(expected 1 int, 2 float, 3 bool, 4 string, 5 choice)",
                                origin, who, d->name, (int)d->type);
        if (d->type == KB_PARAM_CHOICE && empty_str(d->choices))
            return kb_error_set(err, "%s: %s: choice parameter '%s' has no choices "
                                "(expected \"a|b|...\")", origin, who, d->name);
    }
    if (n == KB_MAX_PARAMS)
        return kb_error_set(err, "%s: %s: more than %d parameters (is the schema missing "
                            "its { NULL } terminator?)", origin, who, KB_MAX_PARAMS);
    struct kb_params *vals = NULL;
    if (kb_params_new(&vals, p->params, err) < 0)
        return kb_error_prefix(err, "%s: %s: bad parameter schema", origin, who);
    kb_params_free(vals);
    return 0;
}

static int check_transform_ops(const struct kb_plugin *p, const char *origin, const char *who,
                               struct kb_error *err)
{
    const struct kb_transform_ops *ops = p->ops;
    if (!ops)
        return kb_error_set(err, "%s: %s: transform without ops (expected a struct "
                            "kb_transform_ops)", origin, who);
    if (ops->struct_size < KB_TRANSFORM_OPS_SIZE_V1 || ops->struct_size > sizeof *ops)
        return kb_error_set(err, "%s: %s: kb_transform_ops struct_size %u, keybench expects "
                            "%zu — rebuild the plugin against this keybench", origin, who,
                            ops->struct_size, sizeof *ops);
#define REQUIRE(op)                                                                    \
    if (!ops->op)                                                                      \
        return kb_error_set(err, "%s: %s: transform op '%s' is NULL (every op of "     \
                            "kb_transform_ops is required)", origin, who, #op)
    REQUIRE(create);
    REQUIRE(destroy);
    REQUIRE(key_size);
    REQUIRE(keyspace_bits);
    REQUIRE(key_length);
    REQUIRE(key_make);
    REQUIRE(key_mutate);
    REQUIRE(key_agreement);
    REQUIRE(encrypt);
    REQUIRE(decrypt);
#undef REQUIRE
    return 0;
}

static int check_backbone_ops(const struct kb_plugin *p, const char *origin, const char *who,
                              struct kb_error *err)
{
    const struct kb_backbone_ops *ops = p->ops;
    if (!ops)
        return kb_error_set(err, "%s: %s: backbone without ops (expected a struct "
                            "kb_backbone_ops)", origin, who);
    if (ops->struct_size < KB_BACKBONE_OPS_SIZE_V1 || ops->struct_size > sizeof *ops)
        return kb_error_set(err, "%s: %s: kb_backbone_ops struct_size %u, keybench expects "
                            "%zu — rebuild the plugin against this keybench", origin, who,
                            ops->struct_size, sizeof *ops);
    if (!ops->build)
        return kb_error_set(err, "%s: %s: backbone op 'build' is NULL", origin, who);
    return 0;
}

static int check_attack_ops(const struct kb_plugin *p, const char *origin, const char *who,
                            struct kb_error *err)
{
    const struct kb_attack_ops *ops = p->ops;
    if (!ops)
        return kb_error_set(err, "%s: %s: attack without ops (expected a struct "
                            "kb_attack_ops)", origin, who);
    if (ops->struct_size < KB_ATTACK_OPS_SIZE_V1 || ops->struct_size > sizeof *ops)
        return kb_error_set(err, "%s: %s: kb_attack_ops struct_size %u, keybench expects "
                            "%zu — rebuild the plugin against this keybench", origin, who,
                            ops->struct_size, sizeof *ops);
    if (!ops->run)
        return kb_error_set(err, "%s: %s: attack op 'run' is NULL", origin, who);
    return 0;
}

/* Check one descriptor on its own (not against other plugins). */
static int check_descriptor(const struct kb_plugin *p, size_t idx, const char *origin,
                            struct kb_error *err)
{
    char who[160];
    /* Only the first two fields are read before the ABI and size are known. */
    if (p->abi_version != KB_PLUGIN_ABI_VERSION)
        return kb_error_set(err, "%s: descriptor #%zu: plugin ABI %u, keybench expects %u — "
                            "rebuild the plugin against this keybench", origin, idx,
                            p->abi_version, KB_PLUGIN_ABI_VERSION);
    if (p->struct_size < KB_PLUGIN_SIZE_V1 || p->struct_size > sizeof *p)
        return kb_error_set(err, "%s: descriptor #%zu: struct kb_plugin size %u, keybench "
                            "expects %zu — rebuild the plugin against this keybench", origin,
                            idx, p->struct_size, sizeof *p);
    describe(who, sizeof who, p, idx, true);
    if (!kb_plugin_kind_name(p->kind))
        return kb_error_set(err, "%s: %s: unknown kind %u (expected 1 transform, 2 backbone, "
                            "3 attack)", origin, who, p->kind);
    if (empty_str(p->name))
        return kb_error_set(err, "%s: %s: missing name", origin, who);
    if (!valid_name(p->name))
        return kb_error_set(err, "%s: %s: invalid name '%s' (expected [a-z0-9_]+)", origin,
                            who, p->name);
    if (empty_str(p->version))
        return kb_error_set(err, "%s: %s: missing version", origin, who);
    if (empty_str(p->summary))
        return kb_error_set(err, "%s: %s: missing summary", origin, who);
    if (check_params(p, origin, who, err) < 0)
        return -1;
    if (p->kind == KB_KIND_TRANSFORM && check_transform_ops(p, origin, who, err) < 0)
        return -1;
    if (p->kind == KB_KIND_BACKBONE && check_backbone_ops(p, origin, who, err) < 0)
        return -1;
    if (p->kind == KB_KIND_ATTACK && check_attack_ops(p, origin, who, err) < 0)
        return -1;
    return 0;
}

static const struct reg_entry *find_entry(const struct kb_registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->entries[i].p->name, name))
            return &r->entries[i];
    return NULL;
}

static int reserve_entries(struct kb_registry *r, size_t more, struct kb_error *err)
{
    if (r->n + more <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 16;
    while (cap < r->n + more)
        cap *= 2;
    struct reg_entry *e = realloc(r->entries, cap * sizeof *e);
    if (!e)
        return kb_error_set(err, "out of memory growing the plugin registry");
    r->entries = e;
    r->cap = cap;
    return 0;
}

int kb_registry_add(struct kb_registry *r, const struct kb_plugin *p, const char *origin,
                    struct kb_error *err)
{
    if (!origin)
        origin = "(builtin)";
    if (!p)
        return kb_error_set(err, "%s: NULL plugin descriptor", origin);
    if (check_descriptor(p, 0, origin, err) < 0)
        return -1;
    const struct reg_entry *old = find_entry(r, p->name);
    if (old)
        return kb_error_set(err, "%s: plugin name '%s' is already taken by %s (names are "
                            "unique across kinds)", origin, p->name, entry_origin(r, old));
    if (reserve_entries(r, 1, err) < 0)
        return -1;
    char *o = strdup(origin);
    if (!o)
        return kb_error_set(err, "out of memory");
    r->entries[r->n++] = (struct reg_entry){ .p = p, .file = SIZE_MAX, .origin = o };
    return 0;
}

static int hash_file(char out[65], const char *path, struct kb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return kb_error_set(err, "%s: cannot open to hash it: %s", path, strerror(errno));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        crypto_generichash_update(&st, buf, got);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return kb_error_set(err, "%s: read error while hashing", path);
    unsigned char h[32];
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(out, 65, h, sizeof h);
    return 0;
}

int kb_registry_load_file(struct kb_registry *r, const char *path, struct kb_error *err)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return kb_error_set(err, "%s: cannot open plugin: %s", path, strerror(errno));
    for (size_t i = 0; i < r->n_files; i++)
        if (r->files[i].real && !strcmp(r->files[i].real, real))
            return 0; /* already loaded (folder listed twice, symlink): once is enough */

    /* dlopen needs a slash to take the name as a path. */
    char dlpath[PATH_MAX + 2];
    snprintf(dlpath, sizeof dlpath, "%s%s", strchr(path, '/') ? "" : "./", path);
    dlerror();
    void *h = dlopen(dlpath, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return kb_error_set(err, "%s: cannot load plugin: %s", path, why ? why : "dlopen failed");
    }
    dlerror();
    void *sym = dlsym(h, KB_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        dlclose(h);
        return kb_error_set(err, "%s: not a keybench plugin: no '%s' symbol (define it with "
                            "KB_PLUGIN_ENTRY(...))", path, KB_PLUGIN_ENTRY_SYMBOL);
    }
    kb_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const struct kb_plugin *const *list = entry();
    if (!list || !list[0]) {
        dlclose(h);
        return kb_error_set(err, "%s: %s() returned %s (expected at least one plugin "
                            "descriptor)", path, KB_PLUGIN_ENTRY_SYMBOL,
                            list ? "an empty list" : "NULL");
    }
    size_t n = 0;
    while (n < KB_MAX_PLUGINS_PER_FILE && list[n])
        n++;
    if (n == KB_MAX_PLUGINS_PER_FILE) {
        dlclose(h);
        return kb_error_set(err, "%s: more than %d descriptors (is the list missing its NULL "
                            "terminator?)", path, KB_MAX_PLUGINS_PER_FILE);
    }
    /* Validate everything before registering anything. */
    for (size_t i = 0; i < n; i++) {
        if (check_descriptor(list[i], i, path, err) < 0)
            goto fail;
        const struct reg_entry *old = find_entry(r, list[i]->name);
        if (old) {
            kb_error_set(err, "%s: plugin name '%s' is already taken by %s (names are unique "
                         "across kinds)", path, list[i]->name, entry_origin(r, old));
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(list[j]->name, list[i]->name)) {
                kb_error_set(err, "%s: plugin name '%s' is declared twice in this file "
                             "(descriptors #%zu and #%zu)", path, list[i]->name, j, i);
                goto fail;
            }
    }
    char hash[65];
    if (hash_file(hash, path, err) < 0)
        goto fail;
    if (reserve_entries(r, n, err) < 0)
        goto fail;
    if (r->n_files == r->cap_files) {
        size_t cap = r->cap_files ? 2 * r->cap_files : 8;
        struct reg_file *f = realloc(r->files, cap * sizeof *f);
        if (!f) {
            kb_error_set(err, "out of memory growing the plugin registry");
            goto fail;
        }
        r->files = f;
        r->cap_files = cap;
    }
    struct reg_file *f = &r->files[r->n_files];
    f->path = strdup(path);
    f->real = strdup(real);
    if (!f->path || !f->real) {
        free(f->path);
        free(f->real);
        kb_error_set(err, "out of memory");
        goto fail;
    }
    f->handle = h;
    memcpy(f->hash, hash, sizeof f->hash);
    for (size_t i = 0; i < n; i++)
        r->entries[r->n++] = (struct reg_entry){ .p = list[i], .file = r->n_files };
    r->n_files++;
    return 0;
fail:
    dlclose(h);
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with_so(const char *s)
{
    size_t n = strlen(s);
    return n > 3 && !strcmp(s + n - 3, ".so");
}

int kb_registry_load_dir(struct kb_registry *r, const char *dir, struct kb_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return kb_error_set(err, "%s: cannot read plugin folder: %s", dir, strerror(errno));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !ends_with_so(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = kb_error_set(err, "out of memory listing %s", dir);
                goto out;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = kb_error_set(err, "out of memory listing %s", dir);
            goto out;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path) {
            rc = kb_error_set(err, "%s/%s: path too long", dir, names[i]);
            break;
        }
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue; /* a dangling link or a folder named *.so */
        rc = kb_registry_load_file(r, path, err);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

static int add_dir(struct kb_registry *r, const char *dir, size_t len, struct kb_error *err)
{
    if (len == 0)
        return 0;
    char *s = strndup(dir, len);
    if (!s)
        return kb_error_set(err, "out of memory");
    for (size_t i = 0; i < r->n_dirs; i++)
        if (!strcmp(r->dirs[i], s)) {
            free(s);
            return 0;
        }
    char **d = realloc(r->dirs, (r->n_dirs + 1) * sizeof *d);
    if (!d) {
        free(s);
        return kb_error_set(err, "out of memory");
    }
    r->dirs = d;
    r->dirs[r->n_dirs++] = s;
    return 0;
}

static int add_dir_list(struct kb_registry *r, const char *list, struct kb_error *err)
{
    while (list && *list) {
        const char *colon = strchr(list, ':');
        size_t len = colon ? (size_t)(colon - list) : strlen(list);
        if (add_dir(r, list, len, err) < 0)
            return -1;
        list = colon ? colon + 1 : NULL;
    }
    return 0;
}

static bool same_dir(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

/* Folder of the running libkeybench ("" if unknown). */
static void library_dir(char *out, size_t n)
{
    out[0] = '\0';
    Dl_info info;
    if (!dladdr((const void *)&kb_registry_new, &info) || !info.dli_fname)
        return;
    char real[PATH_MAX];
    /* Canonical, so that "bin/../lib" (an $ORIGIN rpath) reads as "lib". */
    snprintf(out, n, "%s", realpath(info.dli_fname, real) ? real : info.dli_fname);
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(out, n, ".");
}

int kb_registry_default_dirs(char *out, size_t out_size)
{
    char lib[PATH_MAX];
    library_dir(lib, sizeof lib);
    if (lib[0] && same_dir(lib, KB_BUILD_LIBDIR))
        return snprintf(out, out_size, "%s", KB_BUILD_PLUGIN_DIRS) >= (int)out_size ? -1 : 1;
    if (lib[0]) {
        char beside[PATH_MAX];
        snprintf(beside, sizeof beside, "%s/keybench/plugins", lib);
        struct stat st;
        if (stat(beside, &st) == 0 && S_ISDIR(st.st_mode))
            return snprintf(out, out_size, "%s", beside) >= (int)out_size ? -1 : 0;
    }
    return snprintf(out, out_size, "%s", KB_INSTALL_PLUGIN_DIR) >= (int)out_size ? -1 : 0;
}

int kb_registry_open(struct kb_registry **out, const char *const *extra_dirs, size_t n_extra,
                     struct kb_error *err)
{
    *out = NULL;
    struct kb_registry *r = kb_registry_new();
    if (!r)
        return kb_error_set(err, "out of memory");
    char defaults[4 * PATH_MAX];
    if (kb_registry_default_dirs(defaults, sizeof defaults) < 0) {
        kb_registry_free(r);
        return kb_error_set(err, "plugin folder path too long");
    }
    if (add_dir_list(r, defaults, err) < 0 ||
        add_dir_list(r, getenv("KEYBENCH_PLUGIN_PATH"), err) < 0)
        goto fail;
    for (size_t i = 0; i < n_extra; i++)
        if (extra_dirs[i] && add_dir(r, extra_dirs[i], strlen(extra_dirs[i]), err) < 0)
            goto fail;
    for (size_t i = 0; i < r->n_dirs; i++)
        if (kb_registry_load_dir(r, r->dirs[i], err) < 0)
            goto fail;
    *out = r;
    return 0;
fail:
    kb_registry_free(r);
    return -1;
}

const struct kb_plugin *kb_registry_find(const struct kb_registry *r, enum kb_plugin_kind kind,
                                         const char *name)
{
    if (!r || !name)
        return NULL;
    const struct reg_entry *e = find_entry(r, name);
    return e && e->p->kind == (uint32_t)kind ? e->p : NULL;
}

size_t kb_registry_count(const struct kb_registry *r)
{
    return r ? r->n : 0;
}

const struct kb_plugin *kb_registry_get(const struct kb_registry *r, size_t i, const char **path)
{
    if (!r || i >= r->n)
        return NULL;
    if (path)
        *path = entry_origin(r, &r->entries[i]);
    return r->entries[i].p;
}

const char *kb_registry_file_hash(const struct kb_registry *r, size_t i)
{
    if (!r || i >= r->n || r->entries[i].file == SIZE_MAX)
        return "";
    return r->files[r->entries[i].file].hash;
}

size_t kb_registry_names(const struct kb_registry *r, enum kb_plugin_kind kind,
                         const char ***names)
{
    *names = NULL;
    size_t n = 0;
    for (size_t i = 0; r && i < r->n; i++)
        n += r->entries[i].p->kind == (uint32_t)kind;
    if (!n)
        return 0;
    const char **v = malloc(n * sizeof *v);
    if (!v)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->entries[i].p->kind == (uint32_t)kind)
            v[k++] = r->entries[i].p->name;
    *names = v;
    return n;
}

size_t kb_registry_dir_count(const struct kb_registry *r)
{
    return r ? r->n_dirs : 0;
}

const char *kb_registry_dir(const struct kb_registry *r, size_t i)
{
    return r && i < r->n_dirs ? r->dirs[i] : NULL;
}
