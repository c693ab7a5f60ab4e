/* Internal helpers shared by the runner and the report writers. */
#ifndef KB_RUN_INTERNAL_H
#define KB_RUN_INTERNAL_H

#include <stdio.h>

#include <jansson.h>

#include <keybench/common.h>

/* mkdir -p */
int kb_mkdir_p(const char *path, struct kb_error *err);
/* Hex BLAKE2b-256 of the canonical JSON text of v. */
void kb_json_hash(char out[65], const json_t *v);
/* Every measurement record of the journals of the run dirs, deduplicated
 * (the last record of a cell × condition × metric × class wins) and sorted by
 * cell name, condition, metric, class. A new array. */
int kb_results_collect(json_t **out, const char *const *run_dirs, size_t n_runs,
                       struct kb_error *err);

#endif
