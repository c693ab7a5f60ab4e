/* keybench/plugin.h — the plugin ABI.
 *
 * A plugin is a shared object that exports ONE symbol, `keybench_plugin_entry`,
 * returning a NULL-terminated array of plugin descriptors (one object may hold
 * several plugins, e.g. resnet20/32/56). The harness opens it with
 * dlopen(RTLD_NOW | RTLD_LOCAL), checks every descriptor (ABI version, struct
 * sizes, kind, unique name) and registers all of them or none.
 *
 *     #include <keybench/plugin.h>
 *
 *     static const struct kb_param params[] = {
 *         { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL, "block side M in pixels" },
 *         { NULL }
 *     };
 *     static const struct kb_transform_ops ops = {
 *         .struct_size = sizeof ops, .create = my_create, ...
 *     };
 *     static const struct kb_plugin my_transform = {
 *         KB_PLUGIN_HEADER, .kind = KB_KIND_TRANSFORM, .name = "my_transform",
 *         .version = "1.0.0", .summary = "one line", .params = params, .ops = &ops,
 *     };
 *     KB_PLUGIN_ENTRY(&my_transform)
 *
 * Compatibility rules (SQLite/Redis style):
 *  - `abi_version` must equal the host's KB_PLUGIN_ABI_VERSION, else the load
 *    fails naming both numbers.
 *  - Structs that cross the boundary start with their size. Tables only grow
 *    at the end; a size the host does not know (smaller than the ABI's first
 *    layout or larger than the host's) is an error naming both sizes.
 *  - Plugins link libkeybench and use its API (params, rng, secrets, data,
 *    and later tensors and training loops); they never re-implement it.
 */
#ifndef KEYBENCH_PLUGIN_H
#define KEYBENCH_PLUGIN_H

#include <stddef.h>

#include <keybench/common.h>
#include <keybench/params.h>
#include <keybench/rng.h>
#include <keybench/model.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KB_PLUGIN_ABI_VERSION 1u
#define KB_PLUGIN_ENTRY_SYMBOL "keybench_plugin_entry"

enum kb_plugin_kind {
    KB_KIND_TRANSFORM = 1,
    KB_KIND_BACKBONE = 2,
    KB_KIND_ATTACK = 3
};

/* Capability flags (kb_plugin.caps). */
#define KB_CAP_KEYED           (1ull << 0) /* transform: uses a secret key (all but `none`) */
#define KB_CAP_KEY_PERMUTATION (1ull << 1) /* transform: key components are a permutation */
#define KB_CAP_KEY_BITS        (1ull << 2) /* transform: key components are bits */
#define KB_CAP_INVOLUTION      (1ull << 3) /* transform: encrypt∘encrypt = id on uint8 */
#define KB_CAP_BLOCK_PERMUTATION (1ull << 4) /* transform: its key moves whole blocks (jigsaw-solvable) */

/* Image geometry: images are uint8, row-major H×W×C (channel fastest). */
struct kb_image_shape {
    uint32_t h, w, c;
};

/* Operations of a transform plugin. `state` is the plugin's own object for
 * one (params, image shape); a key is a plain byte buffer of key_size(state)
 * bytes (no pointers inside: the harness copies, hashes and wipes it). */
struct kb_transform_ops {
    uint32_t struct_size;   /* sizeof(struct kb_transform_ops) */

    /* Validate params against the shape (block size must divide H and W, …)
     * and build the state. Errors name the parameter and what was expected. */
    int (*create)(void **state, const struct kb_params *params,
                  const struct kb_image_shape *shape, struct kb_error *err);
    void (*destroy)(void *state);

    size_t (*key_size)(const void *state);
    /* log2 of the number of distinct keys. */
    double (*keyspace_bits)(const void *state);
    /* Number of key components (what key_agreement compares, what attacks move). */
    size_t (*key_length)(const void *state);

    /* key := the key determined by 32 bytes of secret material (deterministic:
     * draw from kb_rng_init(secret, ...)). A random key is key_make of
     * kb_secret_random. */
    void (*key_make)(const void *state, void *key, const uint8_t secret[32]);
    /* One local move (swap two permutation entries, flip a bit, …). */
    void (*key_mutate)(const void *state, void *key, struct kb_rng *rng);
    /* Fraction in [0, 1] of key components on which a and b agree. */
    double (*key_agreement)(const void *state, const void *a, const void *b);

    /* n images: uint8 H×W×C -> float32 H×W×C with values in [0, 1]. */
    void (*encrypt)(const void *state, const void *key, float *out,
                    const uint8_t *in, size_t n);
    /* Exact inverse: decrypt(encrypt(x)) == x for every uint8 image. */
    void (*decrypt)(const void *state, const void *key, uint8_t *out,
                    const float *in, size_t n);

    /* --- added for attacks (ABI 1, grown at the end; NULL when not offered) --- */
    /* Exchange key components i and j (< key_length): a permutation's entries,
     * or two bits. The move of the authors' heuristic key search. */
    void (*key_swap)(const void *state, void *key, size_t i, size_t j);
    /* Flip bit i of a bit-vector key (KB_CAP_KEY_BITS only). */
    void (*key_flip)(const void *state, void *key, size_t i);

    /* --- added for gradient attacks (ABI 1, grown at the end; NULL when not
     * offered: attacks that differentiate through the transform are refused) ---
     * The key's layout over one image of H·W·C values (HWC indices): output
     * value k is taken from input value src[k] and mapped by sign[k]:
     *   +1  out[k] = in[src[k]] / denom[k]           (copied)
     *   -1  out[k] = (255 - in[src[k]]) / denom[k]   (negated, the NP map)
     *    0  out[k] = a key-dependent table of in[src[k]] (not differentiable,
     *       e.g. FFX codes); the harness treats it as copied for gradients (BPDA)
     * with in[] the uint8 image and out[] encrypt's float output; for the ±1
     * positions this must reproduce encrypt exactly (tests/transforms/
     * test_layout.c checks it). denom is 255 for most transforms. */
    void (*key_layout)(const void *state, const void *key, uint32_t *src, int8_t *sign,
                       float *denom);
};

/* Whether a transform offers an op added after the first ABI 1 layout (its
 * table may be older and shorter): KB_TRANSFORM_HAS(ops, key_swap). */
#define KB_TRANSFORM_HAS(ops, op)                                                   \
    ((ops)->struct_size >= offsetof(struct kb_transform_ops, op) + sizeof((ops)->op) && \
     (ops)->op != NULL)

/* Operations of a backbone plugin: add its layers to a model the harness
 * made with the input shape (kb_model_new), and return the logits node id
 * (or -1 with err set). The harness then calls kb_model_finish. */
struct kb_backbone_ops {
    uint32_t struct_size;   /* sizeof(struct kb_backbone_ops) */
    int (*build)(struct kb_model *m, const struct kb_params *params, int64_t classes,
                 struct kb_error *err);
};

/* Operations of an attack plugin (keybench/attack.h is the API it calls). */
struct kb_attack;
struct kb_plugin;
struct kb_attack_ops {
    uint32_t struct_size;   /* sizeof(struct kb_attack_ops) */
    /* Attack one protected cell; write results with kb_attack_metric. An
     * error fails the attack (reported with the cell), not the run. */
    int (*run)(struct kb_attack *a, const struct kb_params *params, struct kb_error *err);

    /* --- grown at the end (NULL when not offered) ---
     * Plan time: can this attack, with these params, run against `transform`?
     * Called before anything runs for every cell that lists the attack; an
     * error (one line, naming the parameter) refuses the plan. For checks the
     * caps flags cannot express (a setting that needs a transform op). */
    int (*check)(const struct kb_params *params, const struct kb_plugin *transform,
                 struct kb_error *err);
};

/* Whether an attack offers an op added after its first layout:
 * KB_ATTACK_HAS(ops, check). */
#define KB_ATTACK_HAS(ops, op)                                                   \
    ((ops)->struct_size >= offsetof(struct kb_attack_ops, op) + sizeof((ops)->op) && \
     (ops)->op != NULL)

/* What an attack needs (kb_plugin.caps of an attack): the plan is refused,
 * before anything runs, for a cell that cannot give it. */
#define KB_ATTACK_NEEDS_KEYED      (1ull << 32) /* a keyed transform (not `none`) */
#define KB_ATTACK_NEEDS_KEY_SWAP   (1ull << 33) /* transform offers key_swap */
#define KB_ATTACK_NEEDS_KEY_FLIP   (1ull << 34) /* transform offers key_flip (bit keys) */
#define KB_ATTACK_NEEDS_BLOCK_PERM (1ull << 35) /* transform moves whole blocks (KB_CAP_BLOCK_PERMUTATION) */
#define KB_ATTACK_NEEDS_INPUT_GRAD (1ull << 36) /* gradients w.r.t. the input */
#define KB_ATTACK_NEEDS_TRAINING   (1ull << 37) /* trains models (budgeted by the spec) */

/* One plugin descriptor. */
struct kb_plugin {
    uint32_t abi_version;          /* KB_PLUGIN_ABI_VERSION */
    uint32_t struct_size;          /* sizeof(struct kb_plugin) */
    uint32_t kind;                 /* enum kb_plugin_kind */
    const char *name;              /* [a-z0-9_]+, unique per kind... and overall */
    const char *version;           /* the plugin's own version, e.g. "1.0.0" */
    const char *summary;           /* one line */
    const struct kb_param *params; /* schema, NULL-name terminated; may be NULL */
    uint64_t caps;                 /* KB_CAP_* */
    const void *ops;               /* struct kb_transform_ops / kb_backbone_ops / kb_attack_ops */
};

#define KB_PLUGIN_HEADER .abi_version = KB_PLUGIN_ABI_VERSION, .struct_size = sizeof(struct kb_plugin)

/* The entry point type and a macro that defines it from a list of descriptors. */
typedef const struct kb_plugin *const *(*kb_plugin_entry_fn)(void);

#define KB_PLUGIN_ENTRY(...)                                                     \
    KB_API const struct kb_plugin *const *keybench_plugin_entry(void);           \
    KB_API const struct kb_plugin *const *keybench_plugin_entry(void)            \
    {                                                                            \
        static const struct kb_plugin *const kb_list_[] = { __VA_ARGS__, NULL }; \
        return kb_list_;                                                         \
    }

#ifdef __cplusplus
}
#endif
#endif
