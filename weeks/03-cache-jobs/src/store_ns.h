/* store_ns.h — a short name for "this database", shared by everything that keys Redis.
 *
 * Several databases may share one Redis (every test server has its own database; a team may run
 * staging and a demo on one Redis). Task 7 of database A and task 7 of database B must not share
 * a cache entry, and job 3 of A must not be run against B. So every Redis key of stage 3 starts
 * with a namespace derived from the store's instance key (a random secret made once per
 * database, week 1): hex of the first bytes of its SHA-256, so the secret itself never leaves
 * the database. The API and the worker compute the same namespace from the same database. */
#ifndef TASKD_STORE_NS_H
#define TASKD_STORE_NS_H

#define STORE_NS_LEN 12 /* hex characters */

struct task_repo;

/* out gets STORE_NS_LEN hex characters and a NUL. 0 or the repository's error. */
int store_namespace(struct task_repo *r, char out[STORE_NS_LEN + 1]);

#endif
