/*
 * patchman-apt-hook [--config FILE] pre-install-pkgs|post-invoke|dpkg-post-invoke
 *
 * The program apt and dpkg run (packaging/apt/50patchman, packaging/dpkg/patchman). All the
 * work is in libpatchman_report.so (see ../include/patchman_report.h); this only passes the
 * command and apt's information stream (APT_HOOK_INFO_FD, else stdin) to it. It always exits
 * 0, so a package transaction never fails because of it, and prints one line on error (the
 * report waits in the spool for the next run).
 *
 * Build (packaging/README.md):
 *   cc -O2 -I plugins/apt/include -o patchman-apt-hook plugins/apt/hook/patchman-apt-hook.c \
 *      -L target/release -lpatchman_report
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "patchman_report.h"

static const char usage[] =
    "usage: patchman-apt-hook [--config FILE] pre-install-pkgs|post-invoke|dpkg-post-invoke";

/* Reads what apt writes to the end: apt must never see a closed pipe. */
static void drain(int fd) {
    char buf[65536];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

/* apt's information stream: APT_HOOK_INFO_FD when set to a descriptor number, else stdin. */
static int info_fd(void) {
    const char *env = getenv("APT_HOOK_INFO_FD");
    if (env == NULL || *env == '\0') {
        return 0;
    }
    char *end = NULL;
    long fd = strtol(env, &end, 10);
    return (*end == '\0' && fd >= 0 && fd < 65536) ? (int)fd : 0;
}

int main(int argc, char **argv) {
    const char *config = NULL;
    const char *command = NULL;
    int bad_usage = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (command == NULL && argv[i][0] != '-') {
            command = argv[i];
        } else {
            bad_usage = 1;
        }
    }
    int is_pre_install = command != NULL && strcmp(command, "pre-install-pkgs") == 0;
    int input = is_pre_install ? info_fd() : -1;
    if (command == NULL || bad_usage) {
        fprintf(stderr, "%s\n", usage);
        return 0;
    }
    patchman_reporter *reporter = patchman_reporter_new(config, config != NULL ? strlen(config) : 0);
    if (reporter == NULL) {
        if (is_pre_install) {
            drain(input);
        }
        fprintf(stderr, "patchman-apt-hook: internal error (a bug); the report waits for the next run\n");
        return 0;
    }
    if (patchman_run_hook(reporter, command, strlen(command), input) != PATCHMAN_OK) {
        char message[1024];
        patchman_last_error(reporter, message, sizeof message);
        fprintf(stderr, "patchman-apt-hook: %s\n", message);
    }
    patchman_reporter_free(reporter);
    return 0;
}
