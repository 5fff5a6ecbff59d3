/* export_csv.h — a user's tasks as a CSV file (RFC 4180), what POST /exports produces.
 *
 * The worker builds the file from the task repository (any backend, cache or not) and stores it
 * with the job (jobs_repo.h), so the HTTP side only ever serves finished bytes. */
#ifndef TASKD_EXPORT_CSV_H
#define TASKD_EXPORT_CSV_H

#include <stdint.h>

struct buf;
struct task_repo;

/* The header line every export starts with (without its CRLF). */
#define EXPORT_CSV_HEADER                                                                          \
    "id,title,description,status,priority,due_at,tags,version,created_at,updated_at"

/* Largest file an export may grow to; past it the export fails with ERR_TOO_LARGE rather than
 * take the worker's memory (and a multi-gigabyte row in the exports table). */
#define EXPORT_CSV_MAX_BYTES ((size_t)64 * 1024 * 1024)

/* Appends the CSV of every task of owner_id, oldest first, to out: the header line, then one
 * line per task, each ended by CRLF. *rows gets the number of tasks. Returns 0, ERR_TOO_LARGE,
 * ERR_NOMEM or the repository's error (ERR_UNAVAILABLE...); on failure out is as it was. */
int export_csv_build(struct task_repo *repo, int64_t owner_id, struct buf *out, int *rows);

#endif
