/* api_pg_helpers.h — PostgreSQL-side helpers shared by week 2's black-box suites (api_*.c), and
 * linked into every later week's too (tests/support/api_*.c, see shared/mk/tests.mk).
 *
 * The week-2 suites still talk to the service over HTTP only, but several of them also need to
 * reach PostgreSQL from outside the service: run a statement with psql, get a brand-new database
 * from TK_FRESH_DB_CMD, or build a whole cluster of their own in a temporary run directory
 * (TASKD_RUN_DIR, shared/scripts/services.sh) that they can stop, kill and destroy without
 * disturbing the suites running in parallel. Those helpers live here, once; this file defines no
 * tests. Helpers that assert fail the running test with a message naming what they ran. */
#ifndef TASKD_API_PG_HELPERS_H
#define TASKD_API_PG_HELPERS_H

#include <stddef.h>

/* services.sh, relative to the repository root (where the suites run). */
#define PG_API_SERVICES_SH "shared/scripts/services.sh"

/* The last non-empty line of out, copied into buf (trailing newlines dropped). */
const char *pg_api_last_line(const char *out, char *buf, size_t len);

/* The password part of postgres://user:password@host/..., into buf ("" when there is none). */
const char *pg_api_url_password(const char *url, char *buf, size_t len);

/* One psql statement on url, in a session of its own; the unaligned, tuples-only result into
 * out (trailing newlines removed; out may be NULL). Fails the test when psql does. */
void pg_api_psql(const char *url, const char *sql, char *out, size_t len);

/* A brand-new empty database from TK_FRESH_DB_CMD (the same kind every test server gets): the
 * last line it prints, which must be a postgres URL, into url. Fails the test otherwise. */
const char *pg_api_fresh_db(char *url, size_t len);

/* ---- a cluster of the test's own (later weeks reuse these for their own services) ---- */

/* `services.sh command [service]` with TASKD_RUN_DIR=run_dir; stdout and stderr into out (may be
 * NULL). Fails the test unless it exits 0. */
void pg_api_services(const char *run_dir, const char *command, const char *service, char *out,
                     size_t out_len);

/* Makes a new directory /tmp/taskd-<tag>-XXXXXX (its path into run_dir at once, so a cleanup
 * registered before the call can find it), starts a PostgreSQL cluster there (services.sh up
 * postgres) and creates a fresh database in it, whose URL goes into url. Fails the test when any
 * step fails. */
void pg_api_cluster_start(const char *tag, char *run_dir, size_t run_dir_len, char *url,
                          size_t url_len);

/* Destroys that cluster (services.sh destroy, output discarded) and removes run_dir, then
 * empties run_dir; does nothing when run_dir is "". Never asserts (it is meant for .fini and
 * atexit cleanups); returns 0, or -1 when services.sh destroy failed (after saying so on
 * stderr; the directory is removed anyway). Works on any services.sh run directory (week 3's
 * Redis of its own too). */
int pg_api_cluster_destroy(char *run_dir);

#endif
