/* api_release.c — black-box tests of stage 8: which release answers.
 *
 * A blue/green deploy runs two releases side by side and switches between them; its smoke test,
 * and anyone behind the load balancer, must be able to tell which one answers. GET /health says
 * it: {"status":"ok","version":"..."}, the version `taskd --version` prints, which is the
 * version of the .deb and of the images (all from shared/scripts/version.sh). It is a Debian
 * version, since the package manager compares it to decide what is newer. /health stays what
 * week 1 made it otherwise: liveness, GET only. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "testkit.h"

/* The version in a GET /health answer (the test fails when there is none); static. */
static const char *health_version(struct tk_response **out)
{
    struct tk_response *r = tk_get(tk_shared(), "/health");
    tk_expect_status(r, 200);
    tk_expect_json_str(r, "status", "ok");
    const char *v = tk_json_str(r, "version");
    cr_assert(v && *v,
              "%s: expected a \"version\" (the release that answers, as taskd --version prints "
              "it), got: %.300s",
              r->what, r->body);
    *out = r;
    return v;
}

GRADED(health, names_the_version_taskd_version_prints, 2)
{
    tk_need_local("runs the server's binary with --version");
    const char *bin = getenv("TASKD_BIN");
    cr_assert(bin && *bin, "test setup: TASKD_BIN names no binary");
    char out[512];
    int status = tk_run((const char *const[]){bin, "--version", NULL}, NULL, out, sizeof out);
    cr_assert(status == 0, "%s --version: expected exit status 0, got %d: %s", bin, status, out);
    char printed[256];
    cr_assert(sscanf(out, "taskd %255s", printed) == 1,
              "%s --version: expected \"taskd VERSION (stage NAME)\", got: %s", bin, out);
    struct tk_response *r = NULL;
    const char *v = health_version(&r);
    cr_assert(strcmp(v, printed) == 0,
              "%s: expected version \"%s\" (what taskd --version prints), got \"%s\"", r->what,
              printed, v);
    tk_response_free(r);
}

GRADED(health, the_version_is_a_debian_version, 1)
{
    struct tk_response *r = NULL;
    const char *v = health_version(&r);
    /* Debian policy 5.6.12 (no epoch here): an upstream part that starts with a digit and holds
     * only alphanumerics and . + ~ -, so that dpkg --compare-versions can order two releases. */
    regex_t re;
    cr_assert(regcomp(&re, "^[0-9][A-Za-z0-9.+~-]*$", REG_EXTENDED | REG_NOSUB) == 0,
              "test bug: the pattern does not compile");
    int match = regexec(&re, v, 0, NULL, 0);
    regfree(&re);
    cr_assert(match == 0,
              "%s: expected a Debian version (a digit first, then letters, digits and . + ~ -), "
              "got \"%s\"",
              r->what, v);
    tk_response_free(r);
}

GRADED(health, is_the_same_on_every_answer, 1)
{
    struct tk_response *first = NULL;
    const char *v = health_version(&first);
    for (int i = 0; i < 5; i++) {
        struct tk_response *r = NULL;
        const char *again = health_version(&r);
        cr_assert(strcmp(again, v) == 0, "%s (answer %d): expected version \"%s\", got \"%s\"",
                  r->what, i + 2, v, again);
        tk_response_free(r);
    }
    tk_response_free(first);
}

GRADED(health, other_methods_are_still_405_with_allow, 1)
{
    api_expect_get_only(tk_shared(), "/health");
}
