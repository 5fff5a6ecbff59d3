/* unit_dockerfile_lint.h — week 6's rules for the images: the Dockerfile and the .dockerignore
 * of its build context. Hadolint is not packaged for Debian; these are the rules the lesson
 * teaches, one function each, adding a line per problem to a lint report (unit_lint.h).
 *
 * "Shipped targets" are the stages compose.yaml builds to run: taskd and worker. A rule about
 * what runs (USER, HEALTHCHECK, STOPSIGNAL, ENTRYPOINT) asks what each one's image ends up with,
 * its own instruction or the one it inherits from the stage it is built FROM. */
#ifndef TASKD_UNIT_DOCKERFILE_LINT_H
#define TASKD_UNIT_DOCKERFILE_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "unit_dockerfile.h"
#include "unit_lint.h"

/* At least two stages, and each shipped target copies its programs from another stage
 * (COPY --from=) and is built on no stage that installs a compiler or -dev packages. */
void lint_dockerfile_multi_stage(const struct dockerfile *df, struct lint *l);
/* Each shipped target ends with a USER that is not root (0 or root, before any :group). */
void lint_dockerfile_non_root(const struct dockerfile *df, struct lint *l);
/* Each shipped target has a HEALTHCHECK CMD in exec form (a JSON array), not NONE. */
void lint_dockerfile_healthcheck(const struct dockerfile *df, struct lint *l);
/* `ARG BASE=image:tag` (not latest; or @digest) before the first FROM, and every FROM is
 * ${BASE}, $BASE, scratch or an earlier stage. */
void lint_dockerfile_pinned_base(const struct dockerfile *df, struct lint *l);
/* No ENV or ARG is a secret by name (lint_secret_name) or holds a URL with a password. */
void lint_dockerfile_no_secrets(const struct dockerfile *df, struct lint *l);
/* In the build stage (the one taskd copies its programs from): the package install before the
 * first COPY, and the build files (Makefile) copied before the sources (weeks/, shared/). */
void lint_dockerfile_layer_order(const struct dockerfile *df, struct lint *l);
/* Each shipped target has a STOPSIGNAL, and not one that cannot be caught (SIGKILL). */
void lint_dockerfile_stop_signal(const struct dockerfile *df, struct lint *l);
/* Each shipped target has an ENTRYPOINT in exec form whose program is not a shell. */
void lint_dockerfile_exec_entrypoint(const struct dockerfile *df, struct lint *l);

/* .dockerignore (path) leaves .git, build/, .run/ and compose/secrets/ out of the context. */
void lint_dockerignore_excludes(const char *path, struct lint *l);
/* .dockerignore (path) leaves in what the build stage needs: this repository's Makefile,
 * shared/, docs/api/ and the weeks' sources, build files and migrations (run from the root). */
void lint_dockerignore_keeps_build_inputs(const char *path, struct lint *l);
/* Would the patterns of a .dockerignore (its text) leave relpath out of the context, as Docker
 * decides it (the last pattern that matches the path or a directory above it wins; ! re-includes)?
 * The deciding pattern's line goes to *line (0: none). */
bool lint_dockerignore_excluded(const char *ignore_text, const char *relpath, int *line);

#endif
