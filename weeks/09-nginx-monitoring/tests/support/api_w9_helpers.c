/* api_w9_helpers.c — week 9's shared black-box helpers (api_w9_helpers.h). */
#include "api_w9_helpers.h"

#include <stdlib.h>
#include <string.h>

#include "testkit.h"

#define LISTENING "\"msg\":\"metrics listening\""

size_t w9_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

struct tk_proc *w9_start_with_metrics(const struct tk_server *s, const char *name, const char *var,
                                      const char *const *env, const char *ready, unsigned *port)
{
    const char *argv[] = {tk_bin_beside(name, var), NULL};
    struct tk_proc *p = tk_proc_start_beside(s, argv, env);
    tk_proc_wait_log(p, LISTENING, 20000);
    tk_proc_wait_log(p, ready, 20000);
    char *log = tk_proc_log(p);
    const char *at = log ? strstr(log, LISTENING) : NULL;
    const char *num = at ? strstr(at, "\"port\":") : NULL;
    *port = num ? (unsigned)strtoul(num + strlen("\"port\":"), NULL, 10) : 0;
    free(log);
    cr_assert(*port > 0, "%s logged \"metrics listening\" without a port", name);
    return p;
}
