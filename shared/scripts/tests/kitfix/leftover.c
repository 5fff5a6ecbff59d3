/* leftover.c — a fixture of shared/scripts/test-kit-main.sh: a test that fails an assertion
 * while a process it started is still running, so it never reaches its tk_proc_stop. Built with
 * the kit under AddressSanitizer, it shows that the kit stops such a process at exit (the
 * "leftovers" of testkit.c): no sanitizer report for its memory, no process and no directory
 * left behind. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "testkit.h"

Test(fixture, fails_while_its_process_runs, .timeout = 30)
{
    const char *argv[] = {"/bin/sleep", "300", NULL};
    struct tk_proc *p = tk_proc_start(argv, NULL);
    cr_assert(tk_proc_running(p), "fixture: the process should be running");
    printf("leftover-dir %s\n", tk_proc_log_path(p));
    fflush(stdout);
    cr_assert(0, "fixture: fails before its tk_proc_stop");
}
