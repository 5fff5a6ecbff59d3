/* task_repo_sqlite.h — what the SQLite backend shows of itself besides its open function
 * (task_repo_factory.h): the text of its listing statements, so a test or a learner can ask
 * SQLite how it runs them (EXPLAIN QUERY PLAN) without copying the SQL. */
#ifndef TASKD_TASK_REPO_SQLITE_H
#define TASKD_TASK_REPO_SQLITE_H

#include <stdbool.h>

#include "task_repo.h"

/* The listing statement of sort, for the first page or for the page after a cursor, as the
 * backend prepares it (parameters as task_sql_list_params, compact). malloc'd, the caller
 * frees it; NULL when out of memory or for an unknown sort. */
char *task_repo_sqlite_list_sql(enum task_sort sort, bool after);

#endif
