/*
 * patchman_report.h: report package transactions to a patchman server from C.
 *
 * Link with -lpatchman_report (libpatchman_report.so); hook/patchman-apt-hook.c is a whole
 * program that does. The library collects the host's
 * state (installed packages, repositories, OS, kernel, reboot state), writes it and a record
 * of the transaction to the spool (<state_dir>/spool) and starts a detached
 * `patchman-client --flush` to deliver it, so a call costs milliseconds whether the server is
 * up, down or hanging. It never prompts and never prints.
 *
 * Conventions:
 *   - A patchman_reporter is opaque. Create it with patchman_reporter_new, free it with
 *     patchman_reporter_free. Use one handle from one thread at a time (different handles
 *     may be used from different threads).
 *   - Every string argument is a pointer and a length in bytes. It need not be
 *     NUL-terminated, must be UTF-8, and is only read during the call. A length of 0 means
 *     the empty string and the pointer may then be NULL.
 *   - Output strings are written to a caller's buffer of `cap` bytes: at most cap - 1 bytes,
 *     cut at a character boundary, then a NUL. The return value is the full length (without
 *     NUL), as with snprintf: a return value >= cap means the text was cut.
 *   - Functions returning int return PATCHMAN_OK (0) or a negative PATCHMAN_ERR_* code; the
 *     message is then available from patchman_last_error. No function aborts or unwinds into
 *     the caller.
 */
#ifndef PATCHMAN_REPORT_H
#define PATCHMAN_REPORT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
#define PATCHMAN_OK 0
#define PATCHMAN_ERR_NULL (-1)     /* a NULL handle, or a NULL pointer with a non-zero length */
#define PATCHMAN_ERR_ARGUMENT (-2) /* an unknown action/trigger/setting, a string that is not UTF-8 */
#define PATCHMAN_ERR_FAILED (-3)   /* collecting or spooling failed; see patchman_last_error */
#define PATCHMAN_ERR_PANIC (-4)    /* an internal error (a bug); the handle stays usable */

/* What happened to a package (patchman.v1.ChangeAction). */
#define PATCHMAN_INSTALLED 1
#define PATCHMAN_UPGRADED 2
#define PATCHMAN_DOWNGRADED 3
#define PATCHMAN_REMOVED 4
#define PATCHMAN_REINSTALLED 5

/* Why a report is sent (patchman.v1.Trigger). */
#define PATCHMAN_TRIGGER_TIMER 1
#define PATCHMAN_TRIGGER_TRANSACTION 2
#define PATCHMAN_TRIGGER_MANUAL 3

typedef struct patchman_reporter patchman_reporter;

/*
 * A new reporter configured from the TOML file `config_path` (length 0: the file named by
 * $PATCHMAN_CONFIG, else /etc/patchman/client.toml when it exists, else defaults), then
 * $PATCHMAN_SERVER and $PATCHMAN_STATE_DIR. A file that cannot be read does not fail here:
 * patchman_report then fails with its message. Returns NULL only on an internal error.
 */
patchman_reporter *patchman_reporter_new(const char *config_path, size_t config_path_len);

/* Frees the reporter; NULL is ignored. The handle must not be used afterwards. */
void patchman_reporter_free(patchman_reporter *reporter);

/*
 * Overrides one setting. Keys: "server" (URL), "state_dir", "root" (read the host's files
 * under this directory), "dpkg_status" (read installed Debian packages from this file),
 * "hostname", "tags" (comma-separated), "client" (the patchman-client that delivers),
 * "deliver" ("1"/"0": start a background delivery after each report), "tool" (the name in
 * transaction records, default "apt"), "status_hint" (where the package manager says the
 * dpkg status file is; used unless "dpkg_status" is set). An empty value unsets optional
 * settings.
 */
int patchman_reporter_set(patchman_reporter *reporter, const char *key, size_t key_len, const char *value,
                          size_t value_len);

/*
 * Records one package change of the current transaction. `action` is a PATCHMAN_INSTALLED...
 * constant; `name` is required; `arch`, `old_version` and `new_version`
 * ("[epoch:]version[-release]") may be empty.
 */
int patchman_record_change(patchman_reporter *reporter, int action, const char *name, size_t name_len,
                           const char *arch, size_t arch_len, const char *old_version, size_t old_version_len,
                           const char *new_version, size_t new_version_len);

/*
 * Collects the host's state and spools it; with PATCHMAN_TRIGGER_TRANSACTION also a
 * transaction record of the recorded changes (none recorded: the difference from the last
 * spooled state). Then starts the background delivery. The recorded changes are cleared once
 * they are on disk, so a failed call can be retried.
 */
int patchman_report(patchman_reporter *reporter, int trigger);

/*
 * Runs one apt/dpkg hook command with the reporter's settings, as patchman-apt-hook does:
 *   "pre-install-pkgs"  (DPkg::Pre-Install-Pkgs, version 3): reads apt's information stream
 *                       from `input_fd` to its end and keeps what apt is about to change;
 *                       no collecting, no network;
 *   "post-invoke"       (DPkg::Post-Invoke): the full report with those changes as one
 *                       transaction record, then the background delivery;
 *   "dpkg-post-invoke"  (dpkg's post-invoke): reports a raw dpkg run by difference; nothing
 *                       when a frontend (apt) runs dpkg.
 * `input_fd` is read only by pre-install-pkgs (pass -1 otherwise) and is not closed. Reads
 * DPKG_FRONTEND_LOCKED and DPKG_ADMINDIR from the environment.
 */
int patchman_run_hook(patchman_reporter *reporter, const char *command, size_t command_len, int input_fd);

/* The message of the last failed call on this handle ("" after a successful call). */
size_t patchman_last_error(const patchman_reporter *reporter, char *buf, size_t cap);

/* The library's version, e.g. "0.1.0". */
size_t patchman_version(char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* PATCHMAN_REPORT_H */
