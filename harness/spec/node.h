/* harness/spec/node.h — the generic YAML tree of a spec (internal).
 *
 * A spec file is parsed with libyaml into nodes: mappings, sequences and
 * scalars, each carrying its origin (file, 1-based line and column) so that
 * every later error can name the place. Anchors, aliases, merge keys, explicit
 * tags and multi-document files are rejected. Mappings keep their key order;
 * duplicate keys are an error.
 */
#ifndef KB_SPEC_NODE_H
#define KB_SPEC_NODE_H

#include <keybench/common.h>

enum kb_node_type { KB_NODE_MAP = 1, KB_NODE_SEQ = 2, KB_NODE_SCALAR = 3 };

/* Where a node came from. `file` is a file path or a label such as
 * "override 'seed=[0,1]'" (line 0: no position). `dir` is the folder relative
 * paths written in that file are taken from (NULL: the current directory).
 * Both strings belong to a kb_strpool and outlive the nodes. */
struct kb_origin {
    const char *file;
    const char *dir;
    bool label;        /* `file` is a label: positions are not printed */
};

struct kb_node {
    enum kb_node_type type;
    const struct kb_origin *origin;
    int line, col;             /* 1-based; 0: none */
    /* scalar */
    char *text;
    bool quoted;               /* written quoted or as a block scalar: a string */
    /* map: keys[i] (scalar nodes) -> items[i]; seq: items[i] */
    size_t n, cap;
    struct kb_node **keys;
    struct kb_node **items;
};

/* Owner of origins (file labels and folders): freed last. */
struct kb_strpool {
    size_t n, cap;
    void **ptrs;
};

const struct kb_origin *kb_strpool_origin(struct kb_strpool *p, const char *file,
                                          const char *dir, bool label);
void kb_strpool_free(struct kb_strpool *p);

/* Parse YAML text (one document). An empty text gives a null scalar. */
int kb_node_parse(struct kb_node **out, const char *text, size_t size,
                  const struct kb_origin *origin, struct kb_error *err);

struct kb_node *kb_node_new(enum kb_node_type type, const struct kb_origin *o, int line, int col);
struct kb_node *kb_node_scalar(const char *text, bool quoted, const struct kb_origin *o,
                               int line, int col);
struct kb_node *kb_node_clone(const struct kb_node *n);
void kb_node_free(struct kb_node *n);

/* Append to a sequence, or a key/value to a mapping (takes ownership). */
int kb_node_push(struct kb_node *seq, struct kb_node *item);
int kb_node_map_put(struct kb_node *map, struct kb_node *key, struct kb_node *val);
/* Index of key `k` in a mapping, or -1. */
long kb_node_map_index(const struct kb_node *map, const char *k);
struct kb_node *kb_node_map_get(const struct kb_node *map, const char *k);
/* Remove entry i of a mapping (frees key and value). */
void kb_node_map_remove(struct kb_node *map, size_t i);
/* Set key `k` (replacing an existing value, keeping the key's position). */
int kb_node_map_set(struct kb_node *map, const char *k, struct kb_node *val,
                    const struct kb_node *keypos);

/* Deep merge: `over` wins over `base` (mappings merge key by key, anything
 * else is replaced). Consumes both; returns the result. */
struct kb_node *kb_node_merge(struct kb_node *base, struct kb_node *over);

/* "file:line:col" (or just the label when the node has no line). */
const char *kb_node_pos(const struct kb_node *n, char *buf, size_t size);

/* Whether a scalar is YAML null ("", "~", "null"; plain only). */
bool kb_node_is_null(const struct kb_node *n);

#endif
