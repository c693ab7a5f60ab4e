/* Error records and the version string. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <keybench/common.h>
#include "kb_config.h"

int kb_error_set(struct kb_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int kb_error_prefix(struct kb_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[KB_ERROR_MAX];
    char old[KB_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return -1;
}

const char *kb_version(void)
{
    return KB_VERSION;
}
