/* fileio.h - reading the files an agency hands the engine (internal). */
#ifndef HV_FILEIO_H
#define HV_FILEIO_H

#include <stddef.h>

#include "haven.h"

/* Reads at most limit + 1 bytes of the file at path (so a caller can tell a
 * file larger than limit: *len > limit) into *out, NUL-terminated, for
 * hv__free.  HV_NOINPUT when it cannot be opened or read, with *err (if err
 * is not NULL) saying so, except that a file that does not exist leaves
 * *err NULL when missing_ok (the caller says what was missing); HV_NOMEM. */
hv_status hv__read_file(const char *path, size_t limit, int missing_ok,
                        char **out, size_t *len, char **err);

/* 1 when path names a PostgreSQL database (postgresql:// or postgres://). */
int hv__is_pg_url(const char *path);

/* The path of a file kept beside the database at path (suffix ".key",
 * ".audit-key", ".checkpoints") into buf: "<path><suffix>" for a file; for
 * a PostgreSQL store (path a postgresql:// URL), "$HAVEN_STATE_DIR/pg-<the
 * database's name, every character but letters, digits, '-' and '_' as
 * '_'><suffix>" (HAVEN_STATE_DIR unset: the current folder).  Named after
 * the database, not the URL: every URL of one store (another host list,
 * a password or not, the standby after a failover) finds the same files. */
void hv__side_path(const char *path, const char *suffix, char *buf, size_t size);

#endif
