/* safetensors reading (mmap + jansson header parse, every field checked) and
 * writing (header padded with spaces to 8 bytes, data in insertion order,
 * atomic save). Format: https://github.com/huggingface/safetensors
 *
 *   [u64le N][N bytes of JSON header][data buffer]
 *
 * The reader accepts exactly what the reference implementation accepts for
 * the dtypes keybench knows: tensors must tile the data buffer without
 * overlaps or gaps, and each tensor's byte size must equal numel × dtype size.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <keybench/safetensors.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

#define KB_ST_MAX_HEADER (100u * 1000u * 1000u)

static const struct {
    const char *name;
    enum kb_dtype dt;
    size_t size;
} dtypes[] = {
    { "F32", KB_DT_F32, 4 }, { "F16", KB_DT_F16, 2 }, { "BF16", KB_DT_BF16, 2 },
    { "F64", KB_DT_F64, 8 }, { "I64", KB_DT_I64, 8 }, { "I32", KB_DT_I32, 4 },
    { "I16", KB_DT_I16, 2 }, { "I8", KB_DT_I8, 1 },   { "U8", KB_DT_U8, 1 },
    { "BOOL", KB_DT_BOOL, 1 },
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])
#define DTYPE_LIST "F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL"

const char *kb_dtype_name(enum kb_dtype dt)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dt == dt)
            return dtypes[i].name;
    return NULL;
}

size_t kb_dtype_size(enum kb_dtype dt)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dt == dt)
            return dtypes[i].size;
    return 0;
}

static int dtype_parse(enum kb_dtype *dt, const char *s)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (!strcmp(dtypes[i].name, s)) {
            *dt = dtypes[i].dt;
            return 0;
        }
    return -1;
}

/* numel of a shape, or -1 on a negative dimension or when numel × elem_size
 * would overflow size_t. */
static int shape_numel(size_t *numel, const int64_t *shape, int ndim, size_t elem_size)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return -1;
        uint64_t d = (uint64_t)shape[i];
        if (d > SIZE_MAX)
            return -1;
        if (d != 0 && n > SIZE_MAX / (size_t)d)
            return -1;
        n *= (size_t)d;
    }
    if (elem_size && n > SIZE_MAX / elem_size)
        return -1;
    *numel = n;
    return 0;
}

/* ---------------------------------------------------------------- reading */

void kb_st_close(struct kb_safetensors *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_tensors; i++)
        free(st->tensors[i].name);
    free(st->tensors);
    for (size_t i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->meta_keys);
    free(st->meta_values);
    if (st->map_)
        munmap(st->map_, st->map_size_);
    free(st->path);
    memset(st, 0, sizeof *st);
}

static int parse_metadata(struct kb_safetensors *st, json_t *meta, struct kb_error *err)
{
    if (!json_is_object(meta))
        return kb_error_set(err, "%s: __metadata__ is a JSON %s; expected an object of strings",
                            st->path, json_is_array(meta) ? "array" : "scalar");
    size_t n = json_object_size(meta);
    st->meta_keys = calloc(n ? n : 1, sizeof *st->meta_keys);
    st->meta_values = calloc(n ? n : 1, sizeof *st->meta_values);
    if (!st->meta_keys || !st->meta_values)
        return kb_error_set(err, "%s: out of memory", st->path);
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (!json_is_string(v))
            return kb_error_set(err, "%s: __metadata__ '%s': value is not a string (safetensors "
                                "metadata maps strings to strings)", st->path, k);
        st->meta_keys[st->n_meta] = strdup(k);
        st->meta_values[st->n_meta] = strdup(json_string_value(v));
        st->n_meta++;
        if (!st->meta_keys[st->n_meta - 1] || !st->meta_values[st->n_meta - 1])
            return kb_error_set(err, "%s: out of memory", st->path);
    }
    return 0;
}

/* A JSON integer in [0, max]; -1 otherwise. */
static int json_uint(uint64_t *out, json_t *v, uint64_t max)
{
    if (!json_is_integer(v))
        return -1;
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x > max)
        return -1;
    *out = (uint64_t)x;
    return 0;
}

static int parse_tensor(struct kb_safetensors *st, struct kb_st_tensor *t, const char *name,
                        json_t *info, struct kb_error *err)
{
    const char *p = st->path;
    if (!json_is_object(info))
        return kb_error_set(err, "%s: tensor '%s': entry is not an object (expected "
                            "{\"dtype\", \"shape\", \"data_offsets\"})", p, name);
    json_t *jdt = json_object_get(info, "dtype");
    json_t *jshape = json_object_get(info, "shape");
    json_t *joff = json_object_get(info, "data_offsets");
    if (!jdt || !jshape || !joff)
        return kb_error_set(err, "%s: tensor '%s': missing \"%s\"", p, name,
                            !jdt ? "dtype" : !jshape ? "shape" : "data_offsets");
    if (!json_is_string(jdt))
        return kb_error_set(err, "%s: tensor '%s': \"dtype\" is not a string", p, name);
    if (dtype_parse(&t->dtype, json_string_value(jdt)) < 0)
        return kb_error_set(err, "%s: tensor '%s': unknown dtype '%s' (expected one of "
                            DTYPE_LIST ")", p, name, json_string_value(jdt));
    if (!json_is_array(jshape))
        return kb_error_set(err, "%s: tensor '%s': \"shape\" is not an array of integers", p,
                            name);
    size_t ndim = json_array_size(jshape);
    if (ndim > KB_ST_MAX_DIMS)
        return kb_error_set(err, "%s: tensor '%s': %zu dimensions; keybench reads at most %d",
                            p, name, ndim, KB_ST_MAX_DIMS);
    t->ndim = (int)ndim;
    for (size_t i = 0; i < ndim; i++) {
        uint64_t d;
        if (json_uint(&d, json_array_get(jshape, i), INT64_MAX) < 0)
            return kb_error_set(err, "%s: tensor '%s': shape[%zu] is not a non-negative "
                                "integer", p, name, i);
        t->shape[i] = (int64_t)d;
    }
    size_t esz = kb_dtype_size(t->dtype);
    if (shape_numel(&t->numel, t->shape, t->ndim, esz) < 0)
        return kb_error_set(err, "%s: tensor '%s': shape is too large (element count "
                            "overflows)", p, name);
    uint64_t b, e;
    if (!json_is_array(joff) || json_array_size(joff) != 2 ||
        json_uint(&b, json_array_get(joff, 0), UINT64_MAX) < 0 ||
        json_uint(&e, json_array_get(joff, 1), UINT64_MAX) < 0)
        return kb_error_set(err, "%s: tensor '%s': \"data_offsets\" is not [begin, end] with "
                            "non-negative integers", p, name);
    if (b > e)
        return kb_error_set(err, "%s: tensor '%s': data_offsets [%llu, %llu] has begin > end",
                            p, name, (unsigned long long)b, (unsigned long long)e);
    if (e > st->data_size)
        return kb_error_set(err, "%s: tensor '%s': data_offsets [%llu, %llu] run past the "
                            "data buffer (%zu bytes)", p, name, (unsigned long long)b,
                            (unsigned long long)e, st->data_size);
    t->offset = (size_t)b;
    t->nbytes = (size_t)(e - b);
    if (t->nbytes != t->numel * esz)
        return kb_error_set(err, "%s: tensor '%s': data_offsets span %zu bytes; shape × %s "
                            "needs %zu", p, name, t->nbytes, kb_dtype_name(t->dtype),
                            t->numel * esz);
    return 0;
}

static int cmp_by_offset(const void *a, const void *b)
{
    const struct kb_st_tensor *x = *(const struct kb_st_tensor *const *)a;
    const struct kb_st_tensor *y = *(const struct kb_st_tensor *const *)b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes)
        return x->nbytes < y->nbytes ? -1 : 1;
    return 0;
}

/* Tensors must tile [0, data_size): no overlap, no gap (as the reference checks). */
static int check_layout(struct kb_safetensors *st, struct kb_error *err)
{
    size_t n = st->n_tensors;
    struct kb_st_tensor **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return kb_error_set(err, "%s: out of memory", st->path);
    for (size_t i = 0; i < n; i++)
        v[i] = &st->tensors[i];
    qsort(v, n, sizeof *v, cmp_by_offset);
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (v[i]->offset < at)
            rc = kb_error_set(err, "%s: tensor '%s': data_offsets [%zu, %zu] overlap tensor "
                              "'%s' (which ends at %zu)", st->path, v[i]->name, v[i]->offset,
                              v[i]->offset + v[i]->nbytes, v[i - 1]->name, at);
        else if (v[i]->offset > at)
            rc = kb_error_set(err, "%s: tensor '%s': data_offsets begin at %zu, leaving a "
                              "gap after byte %zu (tensors must tile the data buffer)",
                              st->path, v[i]->name, v[i]->offset, at);
        else
            at = v[i]->offset + v[i]->nbytes;
    }
    if (rc == 0 && at != st->data_size)
        rc = kb_error_set(err, "%s: the tensors cover %zu bytes of a %zu-byte data buffer "
                          "(trailing bytes belong to no tensor)", st->path, at, st->data_size);
    free(v);
    return rc;
}

static int parse_header(struct kb_safetensors *st, const char *text, size_t len,
                        struct kb_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return kb_error_set(err, "%s: header is not valid JSON at byte %d of the header: %s",
                            st->path, jerr.position, jerr.text);
    int rc = -1;
    if (!json_is_object(root)) {
        kb_error_set(err, "%s: header is not a JSON object", st->path);
        goto out;
    }
    size_t n = json_object_size(root);
    st->tensors = calloc(n ? n : 1, sizeof *st->tensors);
    if (!st->tensors) {
        kb_error_set(err, "%s: out of memory", st->path);
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (parse_metadata(st, val, err) < 0)
                goto out;
            continue;
        }
        struct kb_st_tensor *t = &st->tensors[st->n_tensors];
        if (!(t->name = strdup(key))) {
            kb_error_set(err, "%s: out of memory", st->path);
            goto out;
        }
        st->n_tensors++;
        if (parse_tensor(st, t, key, val, err) < 0)
            goto out;
    }
    rc = check_layout(st, err);
out:
    json_decref(root);
    return rc;
}

int kb_st_open(struct kb_safetensors *st, const char *path, struct kb_error *err)
{
    memset(st, 0, sizeof *st);
    if (!(st->path = strdup(path)))
        return kb_error_set(err, "%s: out of memory", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        kb_error_set(err, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        kb_error_set(err, "%s: not a regular file", path);
        goto fail;
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) {
        close(fd);
        kb_error_set(err, "%s: %zu bytes; a safetensors file starts with an 8-byte header "
                     "length", path, size);
        goto fail;
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        kb_error_set(err, "%s: cannot map: %s", path, strerror(errno));
        goto fail;
    }
    st->map_ = map;
    st->map_size_ = size;
    const uint8_t *bytes = map;
    uint64_t hlen;
    memcpy(&hlen, bytes, 8);
    if (hlen > KB_ST_MAX_HEADER) {
        kb_error_set(err, "%s: header length %llu is absurd (expected at most %u bytes)", path,
                     (unsigned long long)hlen, KB_ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > size - 8) {
        kb_error_set(err, "%s: header length %llu runs past the end of the file (%zu bytes "
                     "after the length field)", path, (unsigned long long)hlen, size - 8);
        goto fail;
    }
    st->data = (uint8_t *)bytes + 8 + hlen;
    st->data_size = size - 8 - (size_t)hlen;
    if (parse_header(st, (const char *)bytes + 8, (size_t)hlen, err) < 0)
        goto fail;
    return 0;
fail:
    kb_st_close(st);
    return -1;
}

const struct kb_st_tensor *kb_st_find(const struct kb_safetensors *st, const char *name)
{
    for (size_t i = 0; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i].name, name))
            return &st->tensors[i];
    return NULL;
}

const char *kb_st_meta(const struct kb_safetensors *st, const char *key)
{
    for (size_t i = 0; i < st->n_meta; i++)
        if (!strcmp(st->meta_keys[i], key))
            return st->meta_values[i];
    return NULL;
}

const void *kb_st_tensor_data(const struct kb_safetensors *st, const struct kb_st_tensor *t)
{
    return st->data + t->offset;
}

float kb_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);       /* inf, nan (payload kept) */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13); /* normal: rebias 15 -> 127 */
    } else if (man == 0) {
        bits = sign;                                    /* ±0 */
    } else {
        /* subnormal: man × 2^-24, exact in float32 */
        float f = ldexpf((float)man, -24);
        memcpy(&bits, &f, 4);
        bits |= sign;
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

float kb_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

int kb_st_read_f32(const struct kb_safetensors *st, const struct kb_st_tensor *t, float *out,
                   size_t count, struct kb_error *err)
{
    if (count != t->numel)
        return kb_error_set(err, "%s: tensor '%s': reading %zu values, but it holds %zu",
                            st->path, t->name, count, t->numel);
    const uint8_t *src = st->data + t->offset;
    for (size_t i = 0; i < count; i++) {
        switch (t->dtype) {
        case KB_DT_F32: memcpy(&out[i], src + 4 * i, 4); break;
        case KB_DT_F16: {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            out[i] = kb_f16_to_f32(h);
            break;
        }
        case KB_DT_BF16: {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            out[i] = kb_bf16_to_f32(h);
            break;
        }
        case KB_DT_F64: {
            double d;
            memcpy(&d, src + 8 * i, 8);
            out[i] = (float)d;
            break;
        }
        case KB_DT_I64: {
            int64_t v;
            memcpy(&v, src + 8 * i, 8);
            out[i] = (float)v;
            break;
        }
        case KB_DT_I32: {
            int32_t v;
            memcpy(&v, src + 4 * i, 4);
            out[i] = (float)v;
            break;
        }
        case KB_DT_I16: {
            int16_t v;
            memcpy(&v, src + 2 * i, 2);
            out[i] = (float)v;
            break;
        }
        case KB_DT_I8: out[i] = (float)(int8_t)src[i]; break;
        case KB_DT_U8: out[i] = (float)src[i]; break;
        case KB_DT_BOOL: out[i] = src[i] ? 1.0f : 0.0f; break;
        default:
            return kb_error_set(err, "%s: tensor '%s': unknown dtype %d", st->path, t->name,
                                (int)t->dtype);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- writing */

struct st_wtensor {
    char *name;
    enum kb_dtype dtype;
    int ndim;
    int64_t shape[KB_ST_MAX_DIMS];
    uint8_t *data;
    size_t nbytes;
};

struct kb_st_writer {
    struct st_wtensor *t;
    size_t n, cap;
    char **keys, **values;
    size_t n_meta, cap_meta;
};

struct kb_st_writer *kb_st_writer_new(void)
{
    return calloc(1, sizeof(struct kb_st_writer));
}

void kb_st_writer_free(struct kb_st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->t);
    for (size_t i = 0; i < w->n_meta; i++) {
        free(w->keys[i]);
        free(w->values[i]);
    }
    free(w->keys);
    free(w->values);
    free(w);
}

int kb_st_writer_add(struct kb_st_writer *w, const char *name, enum kb_dtype dtype, int ndim,
                     const int64_t *shape, const void *data, struct kb_error *err)
{
    if (!name || !*name || !strcmp(name, "__metadata__"))
        return kb_error_set(err, "safetensors writer: invalid tensor name '%s'",
                            name ? name : "(null)");
    size_t esz = kb_dtype_size(dtype);
    if (!esz)
        return kb_error_set(err, "safetensors writer: tensor '%s': unknown dtype %d", name,
                            (int)dtype);
    if (ndim < 0 || ndim > KB_ST_MAX_DIMS)
        return kb_error_set(err, "safetensors writer: tensor '%s': %d dimensions (expected 0 "
                            "to %d)", name, ndim, KB_ST_MAX_DIMS);
    size_t numel;
    if (shape_numel(&numel, shape, ndim, esz) < 0)
        return kb_error_set(err, "safetensors writer: tensor '%s': negative or too large shape",
                            name);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name))
            return kb_error_set(err, "safetensors writer: tensor '%s' added twice", name);
    if (numel && !data)
        return kb_error_set(err, "safetensors writer: tensor '%s': NULL data", name);
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        struct st_wtensor *nt = realloc(w->t, cap * sizeof *nt);
        if (!nt)
            return kb_error_set(err, "safetensors writer: out of memory");
        w->t = nt;
        w->cap = cap;
    }
    struct st_wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->nbytes = numel * esz;
    t->name = strdup(name);
    t->data = malloc(t->nbytes ? t->nbytes : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return kb_error_set(err, "safetensors writer: tensor '%s': out of memory (%zu bytes)",
                            name, t->nbytes);
    }
    if (t->nbytes)
        memcpy(t->data, data, t->nbytes);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    w->n++;
    return 0;
}

int kb_st_writer_meta(struct kb_st_writer *w, const char *key, const char *value,
                      struct kb_error *err)
{
    if (!key || !value)
        return kb_error_set(err, "safetensors writer: NULL metadata key or value");
    for (size_t i = 0; i < w->n_meta; i++)
        if (!strcmp(w->keys[i], key))
            return kb_error_set(err, "safetensors writer: metadata key '%s' set twice", key);
    if (w->n_meta == w->cap_meta) {
        size_t cap = w->cap_meta ? 2 * w->cap_meta : 8;
        char **k = realloc(w->keys, cap * sizeof *k);
        if (!k)
            return kb_error_set(err, "safetensors writer: out of memory");
        w->keys = k;
        char **v = realloc(w->values, cap * sizeof *v);
        if (!v)
            return kb_error_set(err, "safetensors writer: out of memory");
        w->values = v;
        w->cap_meta = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return kb_error_set(err, "safetensors writer: out of memory");
    }
    w->keys[w->n_meta] = k;
    w->values[w->n_meta] = v;
    w->n_meta++;
    return 0;
}

static json_t *build_header(const struct kb_st_writer *w)
{
    json_t *root = json_object();
    if (!root)
        return NULL;
    if (w->n_meta) {
        json_t *m = json_object();
        if (json_object_set_new(root, "__metadata__", m) < 0)
            goto fail;
        for (size_t i = 0; i < w->n_meta; i++)
            if (json_object_set_new(m, w->keys[i], json_string(w->values[i])) < 0)
                goto fail;
    }
    size_t at = 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct st_wtensor *t = &w->t[i];
        json_t *shape = json_array();
        json_t *off = json_pack("[II]", (json_int_t)at, (json_int_t)(at + t->nbytes));
        json_t *info = json_object();
        if (!shape || !off || !info) {
            json_decref(shape);
            json_decref(off);
            json_decref(info);
            goto fail;
        }
        for (int d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer(t->shape[d]));
        json_object_set_new(info, "dtype", json_string(kb_dtype_name(t->dtype)));
        json_object_set_new(info, "shape", shape);
        json_object_set_new(info, "data_offsets", off);
        if (json_object_set_new(root, t->name, info) < 0)
            goto fail;
        at += t->nbytes;
    }
    return root;
fail:
    json_decref(root);
    return NULL;
}

int kb_st_writer_save(struct kb_st_writer *w, const char *path, struct kb_error *err)
{
    size_t data_size = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->t[i].nbytes > SIZE_MAX - data_size)
            return kb_error_set(err, "%s: tensors too large to save", path);
        data_size += w->t[i].nbytes;
    }
    json_t *root = build_header(w);
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text)
        return kb_error_set(err, "%s: out of memory building the safetensors header", path);
    size_t hlen = strlen(text);
    size_t padded = (hlen + 7) & ~(size_t)7;
    if (padded > KB_ST_MAX_HEADER || data_size > SIZE_MAX - 8 - padded) {
        free(text);
        return kb_error_set(err, "%s: safetensors header of %zu bytes is too large", path,
                            hlen);
    }
    size_t total = 8 + padded + data_size;
    uint8_t *buf = malloc(total);
    if (!buf) {
        free(text);
        return kb_error_set(err, "%s: out of memory (%zu bytes)", path, total);
    }
    uint64_t n64 = padded;
    memcpy(buf, &n64, 8);
    memcpy(buf + 8, text, hlen);
    memset(buf + 8 + hlen, ' ', padded - hlen);
    free(text);
    size_t at = 8 + padded;
    for (size_t i = 0; i < w->n; i++) {
        if (w->t[i].nbytes)
            memcpy(buf + at, w->t[i].data, w->t[i].nbytes);
        at += w->t[i].nbytes;
    }
    int rc = kb_file_write_atomic(path, buf, total, 0644, false, err);
    free(buf);
    return rc;
}
