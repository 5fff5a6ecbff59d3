/* unit_compose_doc.h — a compose.yaml as Compose itself reads it, for week 6's checker.
 *
 * compose.yaml leans on YAML's anchors, aliases and `<<` merge keys (x-taskd, *taskd-env), and
 * Compose adds rules of its own: short and long forms of depends_on, ports, volumes and secrets,
 * ${VARIABLE:-default}, paths relative to the file. Rather than implement them a second time
 * (wrong in ways nobody would notice), the checker asks docker-compose (Debian's 1.29, decision
 * 0028) for `config`: the file validated and resolved, every service spelt in one form, every
 * service of every profile. libyaml loads that output into cJSON for the rules. The original
 * file is loaded too, only to say on which line a service or a setting is written.
 *
 * docker-compose runs with an empty environment and an empty --env-file: the file is judged by
 * its own defaults, never by what this machine's environment or a .env beside it happens to say.
 *
 * It sits in tests/support/: the unit suites of later weeks link it, to check what they add to
 * the file (Kafka, nginx, Prometheus). */
#ifndef TASKD_UNIT_COMPOSE_DOC_H
#define TASKD_UNIT_COMPOSE_DOC_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct compose_doc;

/* Runs `docker-compose -f path config` and loads what it prints. 0, or ERR_IO (path cannot be
 * read), ERR_UNAVAILABLE (no docker-compose here), ERR_INVALID (docker-compose rejects the file)
 * or ERR_NOMEM, with why saying so (docker-compose's own words for a rejected file). The caller
 * frees *out with compose_doc_free. */
int compose_doc_load(const char *path, struct compose_doc **out, char *why, size_t why_len);
void compose_doc_free(struct compose_doc *d);

const char *compose_doc_path(const struct compose_doc *d);
/* The resolved file: {"services": {...}, "networks": ..., "volumes": ..., "secrets": ...}.
 * Plain scalars stay strings (ports, numbers) apart from null, true and false. */
const cJSON *compose_doc_config(const struct compose_doc *d);
/* What docker-compose printed on stderr while accepting the file (warnings: a variable with no
 * value...), "" when nothing. */
const char *compose_doc_warnings(const struct compose_doc *d);
/* The line of the original file where the key at keys[0] > keys[1] > ... is written (services >
 * taskd > environment), 1-based; 0 when it is not written there (it came from an anchor's merge,
 * or is not in the file at all). */
int compose_doc_line(const struct compose_doc *d, const char *const *keys, size_t n);

/* docker-compose takes most of a second to start (it is Python), and every compose test of a
 * suite asks it about the same file. compose_doc_share(path) runs it once, in the runner's
 * process before the tests start (a PRE_ALL hook): what it printed goes to a
 * temporary file that COMPOSE_DOC_SHARED names, and the tests' processes, which inherit the
 * environment, read it in compose_doc_load for that file, unchanged since (same real path,
 * modification time and size); any other file is asked anew. 0, or an ERR_ code (then every
 * load runs docker-compose itself). compose_doc_unshare (POST_ALL) removes the file and the
 * variable. */
int compose_doc_share(const char *path);
void compose_doc_unshare(void);

/* YAML text to cJSON, aliases and `<<` merge keys resolved, scalars as compose_doc_config has
 * them; NULL with why when it is not YAML. The caller deletes the result. */
cJSON *compose_doc_yaml(const char *text, size_t len, char *why, size_t why_len);

#endif
