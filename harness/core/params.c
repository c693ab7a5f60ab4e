/* Typed parameter schemas and their resolved values. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/params.h>

struct kb_value {
    bool has, given;
    char *text;  /* canonical text */
    int64_t i;
    double f;
    bool b;
};

struct kb_params {
    const struct kb_param *schema;
    size_t n;
    struct kb_value *v;
};

size_t kb_param_count(const struct kb_param *schema)
{
    size_t n = 0;
    while (schema && schema[n].name)
        n++;
    return n;
}

const struct kb_param *kb_param_find(const struct kb_param *schema, const char *name)
{
    for (size_t i = 0; schema && schema[i].name; i++)
        if (!strcmp(schema[i].name, name))
            return &schema[i];
    return NULL;
}

const char *kb_ptype_name(enum kb_ptype t)
{
    switch (t) {
    case KB_PARAM_INT: return "int";
    case KB_PARAM_FLOAT: return "float";
    case KB_PARAM_BOOL: return "bool";
    case KB_PARAM_STRING: return "string";
    case KB_PARAM_CHOICE: return "choice";
    }
    return "?";
}

/* Whether `text` is one of the '|'-separated `choices`. */
static bool choice_ok(const char *choices, const char *text)
{
    size_t len = strlen(text);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncmp(p, text, n))
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static void format_range(char *out, size_t size, const struct kb_param *d)
{
    if (d->type == KB_PARAM_INT)
        snprintf(out, size, "[%.0f, %.0f]", d->min, d->max);
    else
        snprintf(out, size, "[%g, %g]", d->min, d->max);
}

/* Shortest text that reads back as exactly `f`. */
static void format_double(char *out, size_t size, double f)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, f);
        if (strtod(out, NULL) == f)
            return;
    }
}

/* Parse `text` for descriptor `d` into `v` (canonical text included). */
static int parse_value(struct kb_value *v, const struct kb_param *d, const char *text,
                       struct kb_error *err)
{
    char canon[64];
    const char *keep = text;
    switch (d->type) {
    case KB_PARAM_INT: {
        errno = 0;
        char *end;
        long long x = strtoll(text, &end, 10);
        if (*text == '\0' || isspace((unsigned char)*text) || *end != '\0' || errno) {
            /* Accept an integral float written as such ("4.0", "1e3"). */
            double f = strtod(text, &end);
            if (*text == '\0' || isspace((unsigned char)*text) || *end != '\0' ||
                !isfinite(f) || f != floor(f) ||
                fabs(f) > 9007199254740992.0)
                return kb_error_set(err, "parameter '%s': expected an integer, got '%s'",
                                    d->name, text);
            x = (long long)f;
        }
        if (d->min <= d->max && ((double)x < d->min || (double)x > d->max)) {
            char r[96];
            format_range(r, sizeof r, d);
            return kb_error_set(err, "parameter '%s': %lld is out of range %s", d->name, x, r);
        }
        v->i = x;
        v->f = (double)x;
        snprintf(canon, sizeof canon, "%lld", x);
        keep = canon;
        break;
    }
    case KB_PARAM_FLOAT: {
        char *end;
        errno = 0;
        double f = strtod(text, &end);
        if (*text == '\0' || isspace((unsigned char)*text) || *end != '\0' || !isfinite(f))
            return kb_error_set(err, "parameter '%s': expected a finite number, got '%s'",
                                d->name, text);
        if (d->min <= d->max && (f < d->min || f > d->max)) {
            char r[96];
            format_range(r, sizeof r, d);
            return kb_error_set(err, "parameter '%s': %s is out of range %s", d->name, text, r);
        }
        v->f = f;
        format_double(canon, sizeof canon, f);
        keep = canon;
        break;
    }
    case KB_PARAM_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on"))
            v->b = true;
        else if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "off"))
            v->b = false;
        else
            return kb_error_set(err, "parameter '%s': expected true or false, got '%s'", d->name,
                                text);
        keep = v->b ? "true" : "false";
        break;
    case KB_PARAM_STRING:
        break;
    case KB_PARAM_CHOICE:
        if (!d->choices)
            return kb_error_set(err, "parameter '%s': choice parameter without choices", d->name);
        if (!choice_ok(d->choices, text))
            return kb_error_set(err, "parameter '%s': '%s' is not one of %s", d->name, text,
                                d->choices);
        break;
    default:
        return kb_error_set(err, "parameter '%s': unknown type %d", d->name, (int)d->type);
    }
    char *dup = strdup(keep);
    if (!dup)
        return kb_error_set(err, "parameter '%s': out of memory", d->name);
    free(v->text);
    v->text = dup;
    v->has = true;
    return 0;
}

int kb_params_new(struct kb_params **out, const struct kb_param *schema, struct kb_error *err)
{
    *out = NULL;
    struct kb_params *p = calloc(1, sizeof *p);
    if (!p)
        return kb_error_set(err, "out of memory");
    p->schema = schema;
    p->n = kb_param_count(schema);
    p->v = calloc(p->n ? p->n : 1, sizeof *p->v);
    if (!p->v) {
        free(p);
        return kb_error_set(err, "out of memory");
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct kb_param *d = &schema[i];
        for (size_t j = 0; j < i; j++)
            if (!strcmp(schema[j].name, d->name)) {
                kb_params_free(p);
                return kb_error_set(err, "parameter '%s' is declared twice", d->name);
            }
        if (d->type < KB_PARAM_INT || d->type > KB_PARAM_CHOICE) {
            kb_params_free(p);
            return kb_error_set(err, "parameter '%s': unknown type %d", d->name, (int)d->type);
        }
        if (d->dflt && parse_value(&p->v[i], d, d->dflt, err) < 0) {
            kb_params_free(p);
            return kb_error_prefix(err, "invalid default");
        }
    }
    *out = p;
    return 0;
}

void kb_params_free(struct kb_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].text);
    free(p->v);
    free(p);
}

struct kb_params *kb_params_clone(const struct kb_params *p)
{
    struct kb_params *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->schema = p->schema;
    c->n = p->n;
    c->v = calloc(p->n ? p->n : 1, sizeof *c->v);
    if (!c->v) {
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        c->v[i] = p->v[i];
        if (p->v[i].text && !(c->v[i].text = strdup(p->v[i].text))) {
            c->n = i;
            kb_params_free(c);
            return NULL;
        }
    }
    return c;
}

int kb_params_set(struct kb_params *p, const char *name, const char *text, struct kb_error *err)
{
    const struct kb_param *d = kb_param_find(p->schema, name);
    if (!d) {
        const char *names[64];
        size_t n = 0;
        char valid[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < p->n; i++) {
            if (n < 64)
                names[n++] = p->schema[i].name;
            int w = snprintf(valid + used, sizeof valid - used, "%s%s", i ? ", " : "",
                             p->schema[i].name);
            if (w > 0 && (size_t)w < sizeof valid - used)
                used += (size_t)w;
        }
        char hint[256];
        if (kb_suggest(hint, sizeof hint, name, names, n) > 0)
            return kb_error_set(err, "unknown parameter '%s'; did you mean %s? (valid: %s)", name,
                                hint, p->n ? valid : "none");
        return kb_error_set(err, "unknown parameter '%s' (valid: %s)", name,
                            p->n ? valid : "none");
    }
    struct kb_value *v = &p->v[d - p->schema];
    struct kb_value tmp = {0};
    if (parse_value(&tmp, d, text, err) < 0) {
        free(tmp.text);
        return -1;
    }
    free(v->text);
    *v = tmp;
    v->given = true;
    return 0;
}

const struct kb_param *kb_params_schema(const struct kb_params *p)
{
    return p->schema;
}

static const struct kb_value *lookup(const struct kb_params *p, const char *name,
                                     enum kb_ptype t1, enum kb_ptype t2)
{
    const struct kb_param *d = kb_param_find(p->schema, name);
    if (!d || (d->type != t1 && d->type != t2)) {
        fprintf(stderr, "keybench: internal error: parameter '%s' %s\n", name,
                d ? "read with the wrong type" : "is not in the schema");
        abort();
    }
    return &p->v[d - p->schema];
}

bool kb_params_has(const struct kb_params *p, const char *name)
{
    const struct kb_param *d = kb_param_find(p->schema, name);
    return d && p->v[d - p->schema].has;
}

bool kb_params_given(const struct kb_params *p, const char *name)
{
    const struct kb_param *d = kb_param_find(p->schema, name);
    return d && p->v[d - p->schema].given;
}

int64_t kb_params_int(const struct kb_params *p, const char *name)
{
    return lookup(p, name, KB_PARAM_INT, KB_PARAM_INT)->i;
}

double kb_params_float(const struct kb_params *p, const char *name)
{
    return lookup(p, name, KB_PARAM_FLOAT, KB_PARAM_INT)->f;
}

bool kb_params_bool(const struct kb_params *p, const char *name)
{
    return lookup(p, name, KB_PARAM_BOOL, KB_PARAM_BOOL)->b;
}

const char *kb_params_str(const struct kb_params *p, const char *name)
{
    return lookup(p, name, KB_PARAM_STRING, KB_PARAM_CHOICE)->text;
}

const char *kb_params_text(const struct kb_params *p, const char *name)
{
    const struct kb_param *d = kb_param_find(p->schema, name);
    return d ? p->v[d - p->schema].text : NULL;
}
