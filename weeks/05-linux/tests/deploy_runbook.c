/* deploy_runbook.c — the runbook lab's six broken servers, on the real server with the real
 * package (weeks/05-linux/runbook/).
 *
 * The runbook lab grades the state of a server, never the commands typed, so its grader must be
 * right three times for each scenario: `check.sh` passes on the healthy server, fails once
 * `break.sh` has planted the fault (naming what is wrong), and passes again after a fix a learner
 * could make with the week's tools. This suite runs exactly that, with one reference fix per
 * scenario, against taskd as the week-5 package installs it (the lab was first tried on a
 * stand-in unit). For the firewall, a "fix" that opens everything must still fail.
 *
 * The reference fixes below are answers to the lab: they are in the test, not the lab's README. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "deploy_support.h"
#include "testkit.h"

#define RUNBOOK_TIMEOUT .timeout = 600

/* Runs the lab's own break.sh or check.sh (what a learner runs) for scenario: its exit status,
 * its output in out. */
static int runbook(const char *script, const char *scenario, char *out, size_t cap)
{
    return dp_sh(out, cap, "SERVER_ENV='%s' bash '%s/../runbook/%s.sh' %s", dp_env("SERVER_ENV"),
                 dp_env("DEPLOY_DIR"), script, scenario);
}

/* check.sh passes on the healthy server (when check_first: the firewall's check compares with
 * the ruleset break.sh saved, so before a break it can only say so), fails after break.sh with a
 * line holding symptom, and passes after fix (a script run as root on the server). */
static void break_then_fix(const char *scenario, bool check_first, const char *symptom,
                           const char *fix)
{
    dp_need_server();
    dp_ensure_deployed();
    char out[16384];
    int rc = check_first ? runbook("check", scenario, out, sizeof out) : 0;
    cr_assert_eq(rc, 0,
                 "%s: expected check.sh to pass on the healthy server before the break (a test "
                 "before this one may have left it broken); exit %d:\n%s",
                 scenario, rc, out);
    rc = runbook("break", scenario, out, sizeof out);
    cr_assert_eq(rc, 0, "%s: expected break.sh to plant the fault (exit 0); exit %d:\n%s", scenario,
                 rc, out);
    rc = runbook("check", scenario, out, sizeof out);
    cr_expect_eq(rc, 1,
                 "%s: expected check.sh to find the fault just planted (exit 1); exit %d:\n%s",
                 scenario, rc, out);
    cr_expect(strstr(out, symptom) != NULL,
              "%s: expected check.sh to name the fault (\"%s\"); it said:\n%s", scenario, symptom,
              out);
    char fixed[4096];
    rc = dp_remote(fixed, sizeof fixed, "set -e\n%s", fix);
    cr_assert_eq(rc, 0, "%s: the reference fix failed on the server (exit %d):\n%s", scenario, rc,
                 fixed);
    rc = runbook("check", scenario, out, sizeof out);
    cr_expect_eq(rc, 0, "%s: expected check.sh to pass after the reference fix; exit %d:\n%s",
                 scenario, rc, out);
    cr_expect(strstr(out, "GET /health through port 80 answers 200") != NULL,
              "%s: expected /health through port 80 to answer after the fix:\n%s", scenario, out);
}

/* After a failed start, systemd's start limit may refuse another one: forget the failures. */
#define RESTART_TASKD                                                                              \
    "systemctl reset-failed taskd.service || true\nsystemctl restart taskd.service\n"

GRADED(runbook, permission_binary_without_execute_bit, 1, RUNBOOK_TIMEOUT)
{
    break_then_fix("permission", true, "has mode 644",
                   "bin=$(systemctl show -p ExecStart --value taskd.service | "
                   "sed -n 's/.*path=\\([^ ;]*\\).*/\\1/p' | head -1)\n"
                   "chmod 0755 \"$bin\"\n" RESTART_TASKD);
}

GRADED(runbook, port_taken_by_another_program, 1, RUNBOOK_TIMEOUT)
{
    break_then_fix("port", true, "runbook-squatter.service still runs",
                   "systemctl stop runbook-squatter.service\n" RESTART_TASKD);
}

GRADED(runbook, disk_held_by_a_deleted_file, 1, RUNBOOK_TIMEOUT)
{
    /* The writer that keeps the deleted file open: found by its open descriptor, as
     * `whatsup.sh deleted` or `lsof +L1` would. */
    break_then_fix("disk", true, "a deleted file of 64 MiB or more is still open",
                   "for fd in /proc/[0-9]*/fd/*; do\n"
                   "  case $(readlink \"$fd\" 2>/dev/null) in *taskd-debug.log*'(deleted)')\n"
                   "    pid=${fd#/proc/}; pid=${pid%%/*}\n"
                   "    unit=$(sed -n 's|.*/\\([^/]*\\.service\\)$|\\1|p' /proc/$pid/cgroup)\n"
                   "    systemctl stop \"$unit\" ;;\n"
                   "  esac\n"
                   "done\n");
}

GRADED(runbook, fd_leak_and_a_low_descriptor_limit, 1, RUNBOOK_TIMEOUT)
{
    break_then_fix("fd-leak", true, "runbook-leaker.service still holds its connections",
                   "systemctl stop runbook-leaker.service\n"
                   "rm /etc/systemd/system/taskd.service.d/50-runbook.conf\n"
                   "systemctl daemon-reload\n" RESTART_TASKD);
}

GRADED(runbook, firewall_rule_drops_the_health_check, 2, RUNBOOK_TIMEOUT)
{
    /* First the wrong fix: an input policy of accept opens everything, and must not pass. */
    dp_need_server();
    char out[16384];
    static const char fix[] =
        "h=$(nft -a list ruleset | sed -n 's/.*comment \"runbook\".*# handle "
        "\\([0-9]*\\).*/\\1/p')\n"
        "[ -n \"$h\" ]\n"
        "set -- $(nft -a list ruleset | awk '/^table/ { f=$2; t=$3 } /^\\tchain/ { c=$2 } "
        "/comment \"runbook\"/ { print f, t, c; exit }')\n"
        "nft delete rule \"$1\" \"$2\" \"$3\" handle \"$h\"\n";
    break_then_fix("firewall", false, "a rule the server did not have drops its port", fix);
    int rc = runbook("break", "firewall", out, sizeof out);
    cr_assert_eq(rc, 0, "firewall: break.sh failed the second time (exit %d):\n%s", rc, out);
    rc =
        dp_remote(out, sizeof out,
                  "set -e\n%s"
                  "set -- $(nft list chains | awk '/^table/ { f=$2; t=$3 } /hook input/ { print f, "
                  "t, c; exit } /^\\tchain/ { c=$2 }')\n"
                  "nft chain \"$1\" \"$2\" \"$3\" '{ policy accept; }'\n",
                  fix);
    cr_assert_eq(rc, 0, "firewall: could not set the input policy to accept (exit %d):\n%s", rc,
                 out);
    rc = runbook("check", "firewall", out, sizeof out);
    int restored = dp_remote(NULL, 0, "systemctl restart nftables.service");
    cr_expect_eq(rc, 1,
                 "firewall: expected check.sh to refuse a \"fix\" that sets the input policy to "
                 "accept (exit 1); exit %d:\n%s",
                 rc, out);
    cr_expect(strstr(out, "policy is 'accept'") != NULL,
              "firewall: expected check.sh to name the open policy; it said:\n%s", out);
    cr_expect_eq(restored, 0,
                 "firewall: restoring the ruleset (systemctl restart nftables) failed");
}

GRADED(runbook, secret_made_world_readable, 1, RUNBOOK_TIMEOUT)
{
    break_then_fix("secret-mode", true, "has mode 755",
                   "chmod 0700 /etc/taskd/credentials\n"
                   "find /etc/taskd/credentials -maxdepth 1 -type f -exec chmod 0600 {} +\n");
}
