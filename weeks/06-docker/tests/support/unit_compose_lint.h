/* unit_compose_lint.h — week 6's rules for compose.yaml, one function each, adding a line per
 * problem to a lint report (unit_lint.h). They read the file as docker-compose resolves it
 * (unit_compose_doc.h), so an anchor, a merge key or a short form counts as what it means, and
 * name the line of the original where the service (or the setting) is written. */
#ifndef TASKD_UNIT_COMPOSE_LINT_H
#define TASKD_UNIT_COMPOSE_LINT_H

#include "unit_compose_doc.h"
#include "unit_dockerfile.h"
#include "unit_lint.h"

/* The week profiles every compose.yaml of this course has, week1 ... weekN. */
#define LINT_COMPOSE_WEEKS 6

/* docker-compose accepted the file (compose_doc_load did) and printed no warning. */
void lint_compose_accepted(const struct compose_doc *d, struct lint *l);
/* Every service has a healthcheck: in compose.yaml, or a HEALTHCHECK in the stage it builds.
 * df is the Dockerfile being graded: the one a build section naming compose/Dockerfile (or df's
 * own path) means; another Dockerfile is read from where the build section says. */
void lint_compose_healthchecks(const struct compose_doc *d, const struct dockerfile *df,
                               struct lint *l);
/* Every depends_on waits for service_healthy (or service_completed_successfully). */
void lint_compose_depends_on(const struct compose_doc *d, struct lint *l);
/* Every top-level secret is a file: (not external). */
void lint_compose_secrets_are_files(const struct compose_doc *d, struct lint *l);
/* No service's environment (or build argument) is a secret by name or holds user:password@. */
void lint_compose_no_secret_env(const struct compose_doc *d, struct lint *l);
/* Each secret a service mounts is named by a *_FILE setting of its environment, and each
 * *_FILE=/run/secrets/NAME names a secret it mounts. */
void lint_compose_secret_files_read(const struct compose_doc *d, struct lint *l);
/* Exactly one network, and every service on it (no network_mode). */
/* Each program gets the secrets it cannot start without, read through its *_FILE setting. */
void lint_compose_programs_get_their_secrets(const struct compose_doc *d, struct lint *l);
void lint_compose_one_network(const struct compose_doc *d, struct lint *l);
/* Every published port is bound to a loopback address (127.0.0.1). */
void lint_compose_loopback_ports(const struct compose_doc *d, struct lint *l);
/* PostgreSQL's data directory is on a named volume. */
void lint_compose_postgres_volume(const struct compose_doc *d, struct lint *l);
/* Every service has profiles, and each of week1 ... weekN has a service. */
void lint_compose_profiles(const struct compose_doc *d, struct lint *l);
/* In each week profile, what a service depends on is started by that profile too. */
void lint_compose_profile_dependencies(const struct compose_doc *d, struct lint *l);

#endif
