/* deploy_units.c — week 5's unit files, checked by systemd's own tools on this machine (no
 * systemd needs to run here): `systemd-analyze verify` finds no error in either unit, and
 * `systemd-analyze security --offline` scores each at an exposure of 2.0 or less.
 *
 * The units are the ones inside the built package, not the source files: what is checked is
 * what gets installed. verify resolves ExecStart= and the units they depend on inside a root
 * directory, so the check assembles one: the package's files, this machine's systemd units
 * (sysinit.target and friends) and /bin/kill (ExecReload=). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy_support.h"
#include "testkit.h"

/* A scratch root holding the package's files plus what verify needs from the host. */
static void make_root(char *root, size_t cap)
{
    char out[4096];
    int rc = dp_sh(out, sizeof out, "mktemp -d /tmp/deploy-root.XXXXXX");
    cr_assert_eq(rc, 0, "mktemp failed: %s", out);
    out[strcspn(out, "\n")] = '\0';
    cr_assert(strlen(out) < cap, "mktemp's path is too long: %s", out);
    memcpy(root, out, strlen(out) + 1);
    rc = dp_sh(
        out, sizeof out,
        "dpkg-deb -x '%s' '%s' && cp -a /usr/lib/systemd/system/. '%s/usr/lib/systemd/system/' "
        "&& mkdir -p '%s/bin' && cp /bin/kill '%s/bin/kill'",
        dp_env("PACKAGE_DEB"), root, root, root, root);
    cr_assert_eq(rc, 0, "could not assemble a root from the package: %s", out);
}

static void remove_root(const char *root)
{
    if (strncmp(root, "/tmp/deploy-root.", 17) == 0)
        dp_sh(NULL, 0, "rm -rf '%s'", root);
}

GRADED(units, verify_finds_no_error_in_either_unit, 2)
{
    char root[256], out[8192];
    make_root(root, sizeof root);
    int rc = dp_sh(out, sizeof out,
                   "systemd-analyze verify --root='%s' taskd.service taskd-worker.service", root);
    remove_root(root);
    cr_expect_eq(rc, 0, "expected `systemd-analyze verify` to pass for both units; exit %d:\n%s",
                 rc, out);
    /* verify also prints warnings (an unknown key, a bad value) without failing. */
    cr_expect_eq(out[0], '\0', "expected `systemd-analyze verify` to print nothing; got:\n%s", out);
}

/* The exposure level systemd-analyze gives the unit inside the package. */
static double exposure(const char *unit)
{
    char root[256], out[16384];
    make_root(root, sizeof root);
    int rc = dp_sh(out, sizeof out, "systemd-analyze security --offline=true --root='%s' %s", root,
                   unit);
    remove_root(root);
    cr_assert_eq(rc, 0, "systemd-analyze security %s failed (exit %d):\n%s", unit, rc, out);
    char needle[128];
    snprintf(needle, sizeof needle, "Overall exposure level for %s: ", unit);
    const char *at = strstr(out, needle);
    cr_assert(at, "no \"%s\" line in systemd-analyze's output:\n%s", needle, out);
    char *end = NULL;
    double level = strtod(at + strlen(needle), &end);
    cr_assert(end != at + strlen(needle), "no number after \"%s\"", needle);
    return level;
}

GRADED(units, taskd_exposure_at_most_2, 3)
{
    double level = exposure("taskd.service");
    cr_expect(level <= 2.0, "expected taskd.service's exposure to be at most 2.0; got %.1f", level);
}

GRADED(units, worker_exposure_at_most_2, 3)
{
    double level = exposure("taskd-worker.service");
    cr_expect(level <= 2.0, "expected taskd-worker.service's exposure to be at most 2.0; got %.1f",
              level);
}

/* The settings the lesson relies on are in the installed unit: notify with a watchdog, restart
 * on failure, the secret as a credential; and its stop timeout leaves taskd's drain
 * (HTTP_DRAIN_SECONDS in the installed taskd.env) time to finish. */
GRADED(units, taskd_is_notify_with_watchdog_and_credential, 2)
{
    char root[256], out[4096];
    make_root(root, sizeof root);
    int rc =
        dp_sh(out, sizeof out,
              "f='%s/usr/lib/systemd/system/taskd.service'; "
              "for k in Type=notify NotifyAccess=main WatchdogSec=30s Restart=on-failure "
              "KillMode=mixed LoadCredential=jwt-secret:/etc/taskd/credentials/jwt-secret "
              "Environment=JWT_SECRET_FILE=%%d/jwt-secret EnvironmentFile=/etc/taskd/taskd.env; do "
              "grep -qx \"$k\" \"$f\" || echo \"missing: $k\"; done; "
              "stop=$(sed -n 's/^TimeoutStopSec=//p' \"$f\"); "
              "drain=$(sed -n 's/^HTTP_DRAIN_SECONDS=//p' '%s/etc/taskd/taskd.env'); "
              "[ \"${stop:-0}\" -gt \"${drain:-10}\" ] || "
              "echo \"TimeoutStopSec=$stop is not above HTTP_DRAIN_SECONDS=$drain\"",
              root, root);
    remove_root(root);
    cr_expect_eq(rc, 0, "the check failed: %s", out);
    cr_expect_eq(out[0], '\0', "expected taskd.service to have these settings:\n%s", out);
}
