/* Master secrets (libsodium), key derivation and fingerprints. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <keybench/secret.h>

static void ensure_sodium(void)
{
    /* sodium_init is idempotent and thread-safe; < 0 only if no entropy source. */
    if (sodium_init() < 0) {
        fprintf(stderr, "keybench: libsodium failed to initialise (no entropy source)\n");
        abort();
    }
}

void *kb_secret_alloc_size(size_t size)
{
    ensure_sodium();
    void *p = sodium_malloc(size ? size : 1);
    if (p)
        memset(p, 0, size ? size : 1);
    return p;
}

uint8_t *kb_secret_alloc(void)
{
    return kb_secret_alloc_size(KB_SECRET_BYTES);
}

void kb_secret_free(void *p)
{
    sodium_free(p); /* wipes, then unmaps; NULL is fine */
}

void kb_secret_random(uint8_t out[KB_SECRET_BYTES])
{
    ensure_sodium();
    randombytes_buf(out, KB_SECRET_BYTES);
}

int kb_secret_generate_file(const char *path, struct kb_error *err)
{
    uint8_t *buf = kb_secret_alloc();
    if (!buf)
        return kb_error_set(err, "%s: out of memory", path);
    kb_secret_random(buf);
    int rc = kb_file_write_atomic(path, buf, KB_SECRET_BYTES, 0600, true, err);
    kb_secret_free(buf);
    return rc;
}

int kb_secret_load(uint8_t out[KB_SECRET_BYTES], const char *path, bool *warn,
                   struct kb_error *err)
{
    if (warn)
        *warn = false;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return kb_error_set(err, "%s: cannot open key file: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return kb_error_set(err, "%s: not a regular file; expected a %d-byte key file", path,
                            KB_SECRET_BYTES);
    }
    if (st.st_size != KB_SECRET_BYTES) {
        close(fd);
        return kb_error_set(err,
                            "%s: %lld bytes; a keybench key file holds exactly %d bytes "
                            "(make one with 'keybench keygen -o FILE')",
                            path, (long long)st.st_size, KB_SECRET_BYTES);
    }
    size_t got = 0;
    while (got < KB_SECRET_BYTES) {
        ssize_t r = read(fd, out + got, KB_SECRET_BYTES - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            sodium_memzero(out, KB_SECRET_BYTES);
            return kb_error_set(err, "%s: short read of the key file", path);
        }
        got += (size_t)r;
    }
    close(fd);
    if (st.st_mode & 077) {
        if (warn)
            *warn = true;
        kb_error_set(err, "%s: key file is readable by %s (mode %04o); run 'chmod 600 %s'", path,
                     (st.st_mode & 007) ? "everyone" : "its group", (unsigned)(st.st_mode & 07777),
                     path);
    }
    return 0;
}

void kb_secret_derive(uint8_t out[KB_SECRET_BYTES], const uint8_t master[KB_SECRET_BYTES],
                      const char *context)
{
    static const char label[] = "keybench.key.v1";
    ensure_sodium();
    crypto_generichash_state st;
    crypto_generichash_init(&st, master, KB_SECRET_BYTES, KB_SECRET_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)label, sizeof label); /* with its NUL */
    crypto_generichash_update(&st, (const uint8_t *)context, strlen(context));
    crypto_generichash_final(&st, out, KB_SECRET_BYTES);
    sodium_memzero(&st, sizeof st);
}

void kb_fingerprint(char out[KB_FINGERPRINT_CHARS + 1], const void *data, size_t size)
{
    static const char label[] = "keybench.fingerprint.v1";
    uint8_t h[crypto_generichash_BYTES_MIN];
    ensure_sodium();
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)label, sizeof label);
    crypto_generichash_update(&st, data, size);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(out, KB_FINGERPRINT_CHARS + 1, h, KB_FINGERPRINT_CHARS / 2);
}

void kb_key_fingerprint(char out[KB_FINGERPRINT_CHARS + 1], const uint8_t secret[KB_SECRET_BYTES],
                        const void *key, size_t size)
{
    static const char label[] = "keybench.key-fingerprint.v1";
    uint8_t h[crypto_generichash_BYTES_MIN];
    ensure_sodium();
    crypto_generichash_state st;
    crypto_generichash_init(&st, secret, KB_SECRET_BYTES, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)label, sizeof label);
    crypto_generichash_update(&st, key, size);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_memzero(&st, sizeof st);
    sodium_bin2hex(out, KB_FINGERPRINT_CHARS + 1, h, KB_FINGERPRINT_CHARS / 2);
}
