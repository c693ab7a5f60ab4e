/* keybench keygen -o FILE: a new 32-byte master secret, mode 0600, never overwritten. */
#include <stdio.h>
#include <string.h>

#include <keybench/secret.h>
#include "commands.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: keybench keygen -o FILE\n"
               "Write a fresh random 32-byte master secret to FILE (mode 0600).\n"
               "An existing FILE is never overwritten. Prints the key's fingerprint.\n");
}

int kb_cmd_keygen(int argc, char **argv)
{
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "keybench keygen: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!out) {
        usage(stderr);
        return 2;
    }
    struct kb_error err = {0};
    if (kb_secret_generate_file(out, &err) < 0) {
        fprintf(stderr, "keybench: %s\n", err.msg);
        return 1;
    }
    uint8_t *secret = kb_secret_alloc();
    if (!secret || kb_secret_load(secret, out, NULL, &err) < 0) {
        kb_secret_free(secret);
        fprintf(stderr, "keybench: %s\n", secret ? err.msg : "out of memory");
        return 1;
    }
    char fp[KB_FINGERPRINT_CHARS + 1];
    kb_fingerprint(fp, secret, KB_SECRET_BYTES);
    kb_secret_free(secret);
    printf("wrote %s (mode 0600), fingerprint %s\n", out, fp);
    return 0;
}
