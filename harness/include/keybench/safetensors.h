/* keybench/safetensors.h — reading and writing safetensors files.
 *
 * Format: u64le header length N, N bytes of JSON header
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"k": "v"}}, then the byte buffer. The JSON header is parsed
 * with jansson. Every offset, size and dtype is checked before use; a corrupt
 * file is one error naming the file, the tensor and what was expected.
 *
 *     struct kb_safetensors st;
 *     if (kb_st_open(&st, "w.safetensors", &err) < 0) ...
 *     const struct kb_st_tensor *t = kb_st_find(&st, "conv1.weight");
 *     float *w = malloc(t->numel * sizeof *w);
 *     kb_st_read_f32(&st, t, w, t->numel, &err);   // F32, F16, BF16, ints -> float
 *     kb_st_close(&st);
 *
 *     struct kb_st_writer *wr = kb_st_writer_new();
 *     int64_t shape[2] = {10, 64};
 *     kb_st_writer_add(wr, "fc.weight", KB_DT_F32, 2, shape, data, &err);
 *     kb_st_writer_save(wr, "out.safetensors", &err);   // atomic
 *     kb_st_writer_free(wr);
 */
#ifndef KEYBENCH_SAFETENSORS_H
#define KEYBENCH_SAFETENSORS_H

#include <keybench/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KB_ST_MAX_DIMS 8

enum kb_dtype {
    KB_DT_F32 = 1, KB_DT_F16, KB_DT_BF16, KB_DT_F64,
    KB_DT_I64, KB_DT_I32, KB_DT_I16, KB_DT_I8, KB_DT_U8, KB_DT_BOOL
};

struct kb_st_tensor {
    char *name;
    enum kb_dtype dtype;
    int ndim;
    int64_t shape[KB_ST_MAX_DIMS];
    size_t numel;
    size_t offset;   /* into the data buffer */
    size_t nbytes;
};

struct kb_safetensors {
    char *path;
    uint8_t *data;            /* the byte buffer after the header */
    size_t data_size;
    struct kb_st_tensor *tensors;
    size_t n_tensors;
    char **meta_keys, **meta_values;   /* __metadata__ */
    size_t n_meta;
    void *map_;               /* private */
    size_t map_size_;
};

KB_API int kb_st_open(struct kb_safetensors *st, const char *path, struct kb_error *err) KB_WUR;
KB_API void kb_st_close(struct kb_safetensors *st);
KB_API const struct kb_st_tensor *kb_st_find(const struct kb_safetensors *st, const char *name);
KB_API const char *kb_st_meta(const struct kb_safetensors *st, const char *key);
/* Convert to float32; `count` must equal t->numel. */
KB_API int kb_st_read_f32(const struct kb_safetensors *st, const struct kb_st_tensor *t,
                          float *out, size_t count, struct kb_error *err) KB_WUR;
KB_API const char *kb_dtype_name(enum kb_dtype dt);
KB_API size_t kb_dtype_size(enum kb_dtype dt);
/* The tensor's raw little-endian bytes (t->nbytes of them) inside the mapping. */
KB_API const void *kb_st_tensor_data(const struct kb_safetensors *st, const struct kb_st_tensor *t);
/* Exact IEEE conversions (subnormals, ±inf and nan included). */
KB_API float kb_f16_to_f32(uint16_t h);
KB_API float kb_bf16_to_f32(uint16_t h);

struct kb_st_writer;
KB_API struct kb_st_writer *kb_st_writer_new(void);
/* Copies `data` (numel × dtype size bytes). Duplicate names are an error. */
KB_API int kb_st_writer_add(struct kb_st_writer *w, const char *name, enum kb_dtype dtype,
                            int ndim, const int64_t *shape, const void *data,
                            struct kb_error *err) KB_WUR;
KB_API int kb_st_writer_meta(struct kb_st_writer *w, const char *key, const char *value,
                             struct kb_error *err) KB_WUR;
KB_API int kb_st_writer_save(struct kb_st_writer *w, const char *path, struct kb_error *err) KB_WUR;
KB_API void kb_st_writer_free(struct kb_st_writer *w);

#ifdef __cplusplus
}
#endif
#endif
