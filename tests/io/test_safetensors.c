/* safetensors: roundtrip, exact byte layout, dtype conversions, corrupt files. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <keybench/safetensors.h>

static char dir[PATH_MAX];

static void make_dir(void)
{
    char tmpl[] = "/tmp/kb-st-XXXXXX";
    cr_assert(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
    snprintf(dir, sizeof dir, "%s", tmpl);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static void remove_dir(void)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(st, .init = make_dir, .fini = remove_dir);

static const char *path_of(const char *name)
{
    static char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    if (n)
        cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* A file with the given header length field, header text and data bytes. */
static const char *write_st(const char *name, uint64_t hlen, const char *header,
                            const void *data, size_t data_len)
{
    const char *p = path_of(name);
    size_t h = strlen(header);
    uint8_t *buf = malloc(8 + h + data_len + 1);
    memcpy(buf, &hlen, 8);
    memcpy(buf + 8, header, h);
    if (data_len)
        memcpy(buf + 8 + h, data, data_len);
    write_bytes(p, buf, 8 + h + data_len);
    free(buf);
    return p;
}

static const char *write_hdr(const char *name, const char *header, size_t data_len)
{
    uint8_t *zeros = calloc(1, data_len + 1);
    const char *p = write_st(name, strlen(header), header, zeros, data_len);
    free(zeros);
    return p;
}

#define assert_has(msg, needle) \
    cr_assert(strstr((msg), (needle)), "expected '%s' in: %s", (needle), (msg))

/* Open must fail with a one-line message naming the file and every needle. */
static void expect_corrupt(const char *p, const char *const *needles)
{
    struct kb_safetensors st;
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_st_open(&st, p, &err), -1, "%s should be refused", p);
    assert_has(err.msg, p);
    cr_assert_null(strchr(err.msg, '\n'), "one line: %s", err.msg);
    for (size_t i = 0; needles[i]; i++)
        assert_has(err.msg, needles[i]);
    cr_assert_null(st.map_, "nothing left mapped");
    cr_assert_null(st.tensors);
}

#define CORRUPT(p, ...) expect_corrupt(p, (const char *const[]){ __VA_ARGS__, NULL })

Test(st, roundtrip_f32_ints_and_metadata)
{
    float w[6] = { 1.5f, -2.25f, 0.0f, 3.0e-8f, INFINITY, -1e30f };
    int64_t nbt = 1234567;
    uint8_t u[3] = { 0, 128, 255 };
    int64_t shape_w[2] = { 2, 3 }, shape_u[1] = { 3 };
    struct kb_error err = { { 0 } };
    struct kb_st_writer *wr = kb_st_writer_new();
    cr_assert_eq(kb_st_writer_add(wr, "layer1.0.conv1.weight", KB_DT_F32, 2, shape_w, w, &err), 0,
                 "%s", err.msg);
    cr_assert_eq(kb_st_writer_add(wr, "bn1.num_batches_tracked", KB_DT_I64, 0, NULL, &nbt, &err),
                 0, "%s", err.msg);
    cr_assert_eq(kb_st_writer_add(wr, "u", KB_DT_U8, 1, shape_u, u, &err), 0, "%s", err.msg);
    int64_t zero_shape[2] = { 0, 4 };
    cr_assert_eq(kb_st_writer_add(wr, "empty", KB_DT_F32, 2, zero_shape, NULL, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(kb_st_writer_meta(wr, "format", "pt", &err), 0);
    cr_assert_eq(kb_st_writer_meta(wr, "keybench", "cell 3 \"quoted\" ü", &err), 0);
    const char *p = path_of("rt.safetensors");
    cr_assert_eq(kb_st_writer_save(wr, p, &err), 0, "%s", err.msg);
    kb_st_writer_free(wr);

    struct kb_safetensors st;
    cr_assert_eq(kb_st_open(&st, p, &err), 0, "%s", err.msg);
    cr_assert_eq(st.n_tensors, 4);
    cr_assert_str_eq(st.tensors[0].name, "layer1.0.conv1.weight", "insertion order kept");
    cr_assert_str_eq(kb_st_meta(&st, "format"), "pt");
    cr_assert_str_eq(kb_st_meta(&st, "keybench"), "cell 3 \"quoted\" ü");
    cr_assert_null(kb_st_meta(&st, "nope"));
    const struct kb_st_tensor *t = kb_st_find(&st, "layer1.0.conv1.weight");
    cr_assert(t);
    cr_assert_eq(t->dtype, KB_DT_F32);
    cr_assert_eq(t->ndim, 2);
    cr_assert_eq(t->shape[0], 2);
    cr_assert_eq(t->shape[1], 3);
    cr_assert_eq(t->numel, 6);
    cr_assert_eq(t->offset, 0);
    cr_assert_eq(t->nbytes, 24);
    float back[6];
    cr_assert_eq(kb_st_read_f32(&st, t, back, 6, &err), 0, "%s", err.msg);
    cr_assert_eq(memcmp(back, w, sizeof w), 0, "F32 is bit-exact");
    cr_assert_eq(memcmp(kb_st_tensor_data(&st, t), w, sizeof w), 0);

    const struct kb_st_tensor *n = kb_st_find(&st, "bn1.num_batches_tracked");
    cr_assert(n);
    cr_assert_eq(n->ndim, 0);
    cr_assert_eq(n->numel, 1);
    cr_assert_eq(n->offset, 24);
    float nf;
    cr_assert_eq(kb_st_read_f32(&st, n, &nf, 1, &err), 0, "%s", err.msg);
    cr_assert_float_eq(nf, 1234567.0f, 0.0f);

    float uf[3];
    cr_assert_eq(kb_st_read_f32(&st, kb_st_find(&st, "u"), uf, 3, &err), 0);
    cr_assert_float_eq(uf[2], 255.0f, 0.0f);
    const struct kb_st_tensor *e = kb_st_find(&st, "empty");
    cr_assert(e);
    cr_assert_eq(e->numel, 0);
    cr_assert_eq(kb_st_read_f32(&st, e, uf, 0, &err), 0);

    cr_assert_eq(kb_st_read_f32(&st, t, back, 5, &err), -1);
    assert_has(err.msg, "layer1.0.conv1.weight");
    kb_st_close(&st);
    kb_st_close(&st); /* idempotent */

    /* Atomic save: no temp file left beside it. */
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)))
        cr_assert_null(strstr(de->d_name, ".tmp"), "left behind: %s", de->d_name);
    closedir(d);
}

/* The exact bytes of the reference implementation (safetensors.torch.save_file
 * of {"a": torch.tensor([1., 2.])} with metadata {"format": "pt"}): compact
 * JSON, __metadata__ first, padded with spaces to a multiple of 8. */
Test(st, byte_layout_matches_the_reference)
{
    const char *want_hdr =
        "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]}}";
    size_t h = strlen(want_hdr);
    size_t padded = (h + 7) / 8 * 8;
    float a[2] = { 1.0f, 2.0f };
    int64_t shape[1] = { 2 };
    struct kb_error err = { { 0 } };
    struct kb_st_writer *wr = kb_st_writer_new();
    cr_assert_eq(kb_st_writer_add(wr, "a", KB_DT_F32, 1, shape, a, &err), 0);
    cr_assert_eq(kb_st_writer_meta(wr, "format", "pt", &err), 0);
    const char *p = path_of("ref.safetensors");
    cr_assert_eq(kb_st_writer_save(wr, p, &err), 0, "%s", err.msg);
    kb_st_writer_free(wr);

    FILE *f = fopen(p, "rb");
    uint8_t buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_eq(n, 8 + padded + 8);
    uint64_t hlen;
    memcpy(&hlen, buf, 8);
    cr_assert_eq(hlen, padded);
    cr_assert_eq(hlen % 8, 0);
    cr_assert_eq(memcmp(buf + 8, want_hdr, h), 0, "header: %.*s", (int)hlen, buf + 8);
    for (size_t i = h; i < padded; i++)
        cr_assert_eq(buf[8 + i], ' ');
    cr_assert_eq(memcmp(buf + 8 + padded, a, 8), 0);
}

Test(st, f16_known_values)
{
    static const struct { uint16_t h; float f; } cases[] = {
        { 0x0000, 0.0f },          { 0x3C00, 1.0f },         { 0xC000, -2.0f },
        { 0x3555, 0x1.554p-2f },   { 0x7BFF, 65504.0f },     { 0x0400, 0x1p-14f },
        { 0x0001, 0x1p-24f },      { 0x03FF, 0x1.ff8p-15f }, { 0x8001, -0x1p-24f },
        { 0x7C00, INFINITY },      { 0xFC00, -INFINITY },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(kb_f16_to_f32(cases[i].h), cases[i].f, "f16 0x%04x -> %a, want %a",
                     cases[i].h, (double)kb_f16_to_f32(cases[i].h), (double)cases[i].f);
    cr_assert(signbit(kb_f16_to_f32(0x8000)) && kb_f16_to_f32(0x8000) == 0.0f, "-0");
    cr_assert(isnan(kb_f16_to_f32(0x7E00)));
    cr_assert(isnan(kb_f16_to_f32(0xFC01)));
    /* Every finite half converts exactly: check against ldexp. */
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
        if (e == 0x1f)
            continue;
        double v = e ? ldexp(1024 + m, (int)e - 25) : ldexp(m, -24);
        if (h & 0x8000)
            v = -v;
        cr_assert_eq((double)kb_f16_to_f32((uint16_t)h), v, "0x%04x", h);
    }
}

Test(st, bf16_known_values)
{
    cr_assert_eq(kb_bf16_to_f32(0x3F80), 1.0f);
    cr_assert_eq(kb_bf16_to_f32(0xC0A0), -5.0f);
    cr_assert_eq(kb_bf16_to_f32(0x4049), 3.140625f);
    cr_assert_eq(kb_bf16_to_f32(0x0001), 0x1p-133f);   /* subnormal */
    cr_assert_eq(kb_bf16_to_f32(0x7F7F), 0x1.fep127f); /* largest finite */
    cr_assert_eq(kb_bf16_to_f32(0x7F80), INFINITY);
    cr_assert_eq(kb_bf16_to_f32(0xFF80), -INFINITY);
    cr_assert(isnan(kb_bf16_to_f32(0x7FC0)));
}

Test(st, half_dtypes_and_ints_through_a_file)
{
    uint16_t h[4] = { 0x3C00, 0x0001, 0x7C00, 0xC000 };
    uint16_t b[3] = { 0x3F80, 0xC0A0, 0x0001 };
    double d[2] = { 0.1, -1e300 };
    int32_t i32[2] = { -7, 2147483647 };
    int16_t i16[1] = { -32768 };
    int8_t i8[2] = { -128, 127 };
    uint8_t bo[3] = { 0, 1, 1 };
    int64_t s4[1] = { 4 }, s3[1] = { 3 }, s2[1] = { 2 }, s1[1] = { 1 };
    struct kb_error err = { { 0 } };
    struct kb_st_writer *wr = kb_st_writer_new();
    cr_assert_eq(kb_st_writer_add(wr, "h", KB_DT_F16, 1, s4, h, &err), 0);
    cr_assert_eq(kb_st_writer_add(wr, "b", KB_DT_BF16, 1, s3, b, &err), 0);
    cr_assert_eq(kb_st_writer_add(wr, "d", KB_DT_F64, 1, s2, d, &err), 0);
    cr_assert_eq(kb_st_writer_add(wr, "i32", KB_DT_I32, 1, s2, i32, &err), 0);
    cr_assert_eq(kb_st_writer_add(wr, "i16", KB_DT_I16, 1, s1, i16, &err), 0);
    cr_assert_eq(kb_st_writer_add(wr, "i8", KB_DT_I8, 1, s2, i8, &err), 0);
    cr_assert_eq(kb_st_writer_add(wr, "bool", KB_DT_BOOL, 1, s3, bo, &err), 0);
    const char *p = path_of("dt.safetensors");
    cr_assert_eq(kb_st_writer_save(wr, p, &err), 0, "%s", err.msg);
    kb_st_writer_free(wr);
    struct kb_safetensors st;
    cr_assert_eq(kb_st_open(&st, p, &err), 0, "%s", err.msg);
    float o[4];
    cr_assert_eq(kb_st_read_f32(&st, kb_st_find(&st, "h"), o, 4, &err), 0);
    cr_assert(o[0] == 1.0f && o[1] == 0x1p-24f && o[2] == INFINITY && o[3] == -2.0f);
    cr_assert_eq(kb_st_read_f32(&st, kb_st_find(&st, "b"), o, 3, &err), 0);
    cr_assert(o[0] == 1.0f && o[1] == -5.0f && o[2] == 0x1p-133f);
    cr_assert_eq(kb_st_read_f32(&st, kb_st_find(&st, "d"), o, 2, &err), 0);
    cr_assert(o[0] == 0.1f && o[1] == -INFINITY);
    cr_assert_eq(kb_st_read_f32(&st, kb_st_find(&st, "i32"), o, 2, &err), 0);
    cr_assert(o[0] == -7.0f && o[1] == 2147483648.0f);
    cr_assert_eq(kb_st_read_f32(&st, kb_st_find(&st, "i16"), o, 1, &err), 0);
    cr_assert(o[0] == -32768.0f);
    cr_assert_eq(kb_st_read_f32(&st, kb_st_find(&st, "i8"), o, 2, &err), 0);
    cr_assert(o[0] == -128.0f && o[1] == 127.0f);
    cr_assert_eq(kb_st_read_f32(&st, kb_st_find(&st, "bool"), o, 3, &err), 0);
    cr_assert(o[0] == 0.0f && o[1] == 1.0f && o[2] == 1.0f);
    cr_assert_str_eq(kb_dtype_name(kb_st_find(&st, "b")->dtype), "BF16");
    cr_assert_eq(kb_dtype_size(KB_DT_I64), 8);
    kb_st_close(&st);
}

/* ------------------------------------------------------------ corrupt files */

Test(st, missing_file)
{
    CORRUPT(path_of("nope.safetensors"), "cannot open");
}

Test(st, shorter_than_8_bytes)
{
    const char *p = path_of("short.safetensors");
    write_bytes(p, "\x05\0\0", 3);
    CORRUPT(p, "3 bytes", "8-byte header length");
}

Test(st, header_length_past_the_end)
{
    CORRUPT(write_st("past.safetensors", 200, "{}", NULL, 0), "header length 200",
            "past the end");
}

Test(st, header_length_absurd)
{
    CORRUPT(write_st("absurd.safetensors", 1ull << 40, "{}", NULL, 0), "absurd");
    CORRUPT(write_st("absurd2.safetensors", UINT64_MAX, "{}", NULL, 0), "absurd");
}

Test(st, header_not_json)
{
    CORRUPT(write_hdr("nj.safetensors", "{\"a\": {\"dtype\": \"F32\",", 0), "not valid JSON");
}

Test(st, header_not_object)
{
    CORRUPT(write_hdr("arr.safetensors", "[1, 2, 3]", 0), "not a JSON object");
}

Test(st, entry_not_object)
{
    CORRUPT(write_hdr("eno.safetensors", "{\"w\": 5}", 0), "tensor 'w'", "not an object");
}

Test(st, missing_dtype)
{
    CORRUPT(write_hdr("md.safetensors", "{\"w\": {\"shape\": [2], \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "missing \"dtype\"");
}

Test(st, missing_data_offsets)
{
    CORRUPT(write_hdr("mo.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2]}}", 8),
            "tensor 'w'", "missing \"data_offsets\"");
}

Test(st, shape_wrong_type)
{
    CORRUPT(write_hdr("sw.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": \"2\", \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "\"shape\" is not an array");
    CORRUPT(write_hdr("sw2.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "shape[0]");
    CORRUPT(write_hdr("dt.safetensors",
                      "{\"w\": {\"dtype\": 1, \"shape\": [2], \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "\"dtype\" is not a string");
}

Test(st, negative_shape)
{
    CORRUPT(write_hdr("neg.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "shape[1] is not a non-negative integer");
}

Test(st, huge_shape_overflows)
{
    CORRUPT(write_hdr("huge.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], "
                      "\"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "overflows");
    CORRUPT(write_hdr("huge2.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4], "
                      "\"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "overflows");
}

Test(st, unknown_dtype)
{
    CORRUPT(write_hdr("ud.safetensors",
                      "{\"w\": {\"dtype\": \"F8_E4M3\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 2),
            "tensor 'w'", "unknown dtype 'F8_E4M3'", "BF16");
}

Test(st, offsets_out_of_buffer)
{
    CORRUPT(write_hdr("oob.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8),
            "tensor 'w'", "past the data buffer (8 bytes)");
    CORRUPT(write_hdr("oob2.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], "
                      "\"data_offsets\": [9223372036854775800, 9223372036854775807]}}", 8),
            "tensor 'w'", "past the data buffer");
    /* Beyond int64: jansson refuses the number itself. */
    CORRUPT(write_hdr("oob3.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], "
                      "\"data_offsets\": [0, 18446744073709551615]}}", 8),
            "not valid JSON");
}

Test(st, offsets_malformed)
{
    CORRUPT(write_hdr("om.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0]}}", 8),
            "tensor 'w'", "[begin, end]");
    CORRUPT(write_hdr("om2.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [-8, 0]}}", 8),
            "tensor 'w'", "[begin, end]");
}

Test(st, begin_after_end)
{
    CORRUPT(write_hdr("be.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8),
            "tensor 'w'", "begin > end");
}

Test(st, size_mismatch)
{
    CORRUPT(write_hdr("sm.safetensors",
                      "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "span 8 bytes", "needs 12");
}

Test(st, overlapping_tensors)
{
    CORRUPT(write_hdr("ov.safetensors",
                      "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                      " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12),
            "tensor 'b'", "overlap tensor 'a'");
}

Test(st, gap_and_trailing_bytes)
{
    CORRUPT(write_hdr("gap.safetensors",
                      "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                      " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", 12),
            "tensor 'b'", "gap");
    CORRUPT(write_hdr("trail.safetensors",
                      "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 12),
            "cover 4 bytes of a 12-byte data buffer");
}

Test(st, duplicate_names)
{
    CORRUPT(write_hdr("dup.safetensors",
                      "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                      " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8),
            "duplicate", "a");
}

Test(st, metadata_not_strings)
{
    CORRUPT(write_hdr("meta.safetensors",
                      "{\"__metadata__\": {\"epochs\": 3}, "
                      "\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4),
            "__metadata__ 'epochs'", "not a string");
    CORRUPT(write_hdr("meta2.safetensors", "{\"__metadata__\": [\"x\"]}", 0),
            "__metadata__", "object of strings");
}

Test(st, too_many_dims)
{
    CORRUPT(write_hdr("dims.safetensors",
                      "{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], "
                      "\"data_offsets\": [0, 1]}}", 1),
            "tensor 'w'", "9 dimensions");
}

Test(st, empty_header_object_is_fine)
{
    const char *p = write_hdr("empty.safetensors", "{}      ", 0);
    struct kb_safetensors st;
    struct kb_error err = { { 0 } };
    cr_assert_eq(kb_st_open(&st, p, &err), 0, "%s", err.msg);
    cr_assert_eq(st.n_tensors, 0);
    kb_st_close(&st);
}

Test(st, writer_refuses_bad_input)
{
    struct kb_error err = { { 0 } };
    struct kb_st_writer *wr = kb_st_writer_new();
    float x[2] = { 0 };
    int64_t s[1] = { 2 }, neg[1] = { -2 };
    cr_assert_eq(kb_st_writer_add(wr, "x", KB_DT_F32, 1, s, x, &err), 0);
    cr_assert_eq(kb_st_writer_add(wr, "x", KB_DT_F32, 1, s, x, &err), -1);
    assert_has(err.msg, "'x' added twice");
    cr_assert_eq(kb_st_writer_add(wr, "__metadata__", KB_DT_F32, 1, s, x, &err), -1);
    cr_assert_eq(kb_st_writer_add(wr, "y", KB_DT_F32, 1, neg, x, &err), -1);
    assert_has(err.msg, "'y'");
    cr_assert_eq(kb_st_writer_add(wr, "z", (enum kb_dtype)99, 1, s, x, &err), -1);
    cr_assert_eq(kb_st_writer_add(wr, "z", KB_DT_F32, 9, s, x, &err), -1);
    cr_assert_eq(kb_st_writer_meta(wr, "k", "v", &err), 0);
    cr_assert_eq(kb_st_writer_meta(wr, "k", "w", &err), -1);
    /* A save into a missing folder fails and names the path. */
    cr_assert_eq(kb_st_writer_save(wr, "/nonexistent/dir/x.safetensors", &err), -1);
    assert_has(err.msg, "/nonexistent/dir/x.safetensors");
    kb_st_writer_free(wr);
}
