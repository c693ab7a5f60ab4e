/* harness/data/dataset_internal.h — private helpers shared by the loaders. */
#ifndef KB_DATA_DATASET_INTERNAL_H
#define KB_DATA_DATASET_INTERNAL_H

#include <keybench/dataset.h>

/* Allocate images (n×h×w×c) and labels (n) of a zeroed `ds`; n_classes and
 * names are left 0/NULL. `what` names the file for the error. */
int kb_dataset_alloc_raw(struct kb_dataset *ds, uint32_t n, uint32_t h, uint32_t w, uint32_t c,
                         const char *what, struct kb_error *err);
/* Class names "0".."n_classes-1", replacing any (freed with the old
 * ds->n_classes), and ds->n_classes := n_classes. */
int kb_dataset_default_names(struct kb_dataset *ds, uint32_t n_classes, const char *what,
                             struct kb_error *err);

#endif
