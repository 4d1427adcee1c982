/* Calls libpatchman_report.so through its header, as a C program would: the error paths,
 * then one real transaction report. argv[1]: a client.toml; argv[2]: the root to collect.
 * Prints "abi_test: ok" when every check passed; exits 1 naming the first that failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patchman_report.h"

static int failures = 0;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stdout, "abi_test: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static int set(patchman_reporter *h, const char *key, const char *value) {
    return patchman_reporter_set(h, key, strlen(key), value, strlen(value));
}

int main(int argc, char **argv) {
    char buf[256];
    char small[8];
    if (argc != 3) {
        fprintf(stdout, "usage: abi_test CONFIG ROOT\n");
        return 2;
    }

    /* Output buffers: snprintf-like, cut and NUL-terminated. */
    size_t n = patchman_version(buf, sizeof buf);
    CHECK(n > 0 && strlen(buf) == n);
    CHECK(patchman_version(small, 2) == n && small[1] == '\0' && small[0] == buf[0]);
    CHECK(patchman_version(NULL, 0) == n);

    /* NULL handles are refused, never dereferenced. */
    CHECK(patchman_report(NULL, PATCHMAN_TRIGGER_TRANSACTION) == PATCHMAN_ERR_NULL);
    CHECK(patchman_record_change(NULL, PATCHMAN_INSTALLED, "a", 1, NULL, 0, NULL, 0, NULL, 0) == PATCHMAN_ERR_NULL);
    CHECK(patchman_last_error(NULL, buf, sizeof buf) == 0 && buf[0] == '\0');
    patchman_reporter_free(NULL);

    patchman_reporter *h = patchman_reporter_new(argv[1], strlen(argv[1]));
    CHECK(h != NULL);
    if (h == NULL) return 1;

    /* Bad arguments: a code and a message, the handle stays usable. */
    CHECK(patchman_record_change(h, 99, "x", 1, NULL, 0, NULL, 0, NULL, 0) == PATCHMAN_ERR_ARGUMENT);
    CHECK(patchman_last_error(h, buf, sizeof buf) > 0 && strstr(buf, "action") != NULL);
    CHECK(patchman_record_change(h, PATCHMAN_INSTALLED, NULL, 3, NULL, 0, NULL, 0, NULL, 0) == PATCHMAN_ERR_NULL);
    CHECK(patchman_record_change(h, PATCHMAN_INSTALLED, "\xff", 1, NULL, 0, NULL, 0, NULL, 0) == PATCHMAN_ERR_ARGUMENT);
    CHECK(patchman_last_error(h, buf, sizeof buf) > 0 && strstr(buf, "UTF-8") != NULL);
    CHECK(patchman_record_change(h, PATCHMAN_INSTALLED, "two words", 9, NULL, 0, NULL, 0, NULL, 0) == PATCHMAN_ERR_ARGUMENT);
    CHECK(set(h, "sever", "http://typo") == PATCHMAN_ERR_ARGUMENT);
    CHECK(patchman_run_hook(h, "pre-install", 11, -1) == PATCHMAN_ERR_ARGUMENT);
    CHECK(patchman_last_error(h, buf, sizeof buf) > 0 && strstr(buf, "pre-install-pkgs") != NULL);
    CHECK(patchman_run_hook(NULL, "post-invoke", 11, -1) == PATCHMAN_ERR_NULL);
    CHECK(patchman_report(h, 42) == PATCHMAN_ERR_ARGUMENT);
    size_t full = patchman_last_error(h, small, sizeof small);
    CHECK(full > sizeof small - 1 && strlen(small) == sizeof small - 1);

    /* One transaction. Strings carry their length: none of these is NUL-terminated where
     * it ends. */
    CHECK(set(h, "root", argv[2]) == PATCHMAN_OK);
    CHECK(set(h, "tool", "c-test") == PATCHMAN_OK);
    CHECK(set(h, "tags", "c,from-c") == PATCHMAN_OK);
    CHECK(patchman_last_error(h, buf, sizeof buf) == 0);
    const char names[] = "opensslbash";
    const char versions[] = "3.0.15-1~deb12u03.0.15-1~deb12u15.2.15-2+b8";
    CHECK(patchman_record_change(h, PATCHMAN_UPGRADED, names, 7, "amd64", 5, versions, 16, versions + 16, 16) ==
          PATCHMAN_OK);
    CHECK(patchman_record_change(h, PATCHMAN_INSTALLED, names + 7, 4, "amd64", 5, NULL, 0, versions + 32, 11) ==
          PATCHMAN_OK);
    int rc = patchman_report(h, PATCHMAN_TRIGGER_TRANSACTION);
    patchman_last_error(h, buf, sizeof buf);
    if (rc != PATCHMAN_OK) fprintf(stdout, "abi_test: patchman_report: %d %s\n", rc, buf);
    CHECK(rc == PATCHMAN_OK);
    patchman_reporter_free(h);

    /* A configuration that cannot be read fails the report, with the reason. */
    const char *missing = "/nonexistent/patchman/client.toml";
    patchman_reporter *bad = patchman_reporter_new(missing, strlen(missing));
    CHECK(bad != NULL);
    if (bad != NULL) {
        CHECK(patchman_report(bad, PATCHMAN_TRIGGER_TIMER) == PATCHMAN_ERR_FAILED);
        CHECK(patchman_last_error(bad, buf, sizeof buf) > 0 && strstr(buf, missing) != NULL);
        patchman_reporter_free(bad);
    }

    if (failures) return 1;
    fprintf(stdout, "abi_test: ok\n");
    return 0;
}
