/* unit_dashboard.c — the Grafana dashboard (monitoring/grafana/taskd-dashboard.json), checked
 * without Grafana.
 *
 * Grafana is not packaged in Debian 12, so nothing here can load the dashboard the way Grafana
 * would. What can be checked is what breaks dashboards in practice: the JSON's shape (panels
 * that fit Grafana's 24-column grid without overlapping, a target with a query on each, the
 * Prometheus data source through the dashboard's variable) and every query, which promtool
 * parses as Prometheus would (each becomes a recording rule in a scratch rules file). The
 * black-box suite then runs every query against a live Prometheus (api_monitoring.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "testkit.h"

#define DASHBOARD    "weeks/09-nginx-monitoring/monitoring/grafana/taskd-dashboard.json"
#define GRID_COLUMNS 24
#define PANELS_MAX   64

static cJSON *dashboard(void)
{
    char *text = tk_read_file(DASHBOARD, NULL);
    cr_assert(text, "cannot read %s", DASHBOARD);
    cJSON *d = cJSON_Parse(text);
    free(text);
    cr_assert(cJSON_IsObject(d), "%s is not a JSON object", DASHBOARD);
    return d;
}

static int int_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "expected a number \"%s\"", key);
    return v->valueint;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

struct box {
    int x, y, w, h;
};

static bool overlap(struct box a, struct box b)
{
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

GRADED(dashboard, panels_fit_the_grid_and_each_has_a_query, 1)
{
    cJSON *d = dashboard();
    cr_assert(str_of(d, "uid") && str_of(d, "title"), "the dashboard needs a uid and a title");
    const cJSON *vars =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "templating"), "list");
    bool has_ds = false;
    const cJSON *v;
    cJSON_ArrayForEach(v, vars)
    {
        has_ds = has_ds || (str_of(v, "type") && strcmp(str_of(v, "type"), "datasource") == 0 &&
                            str_of(v, "name") && strcmp(str_of(v, "name"), "datasource") == 0);
    }
    cr_assert(has_ds, "the dashboard should pick its Prometheus through a \"datasource\" variable, "
                      "not a data source uid of one Grafana");
    struct box boxes[PANELS_MAX];
    int ids[PANELS_MAX];
    size_t n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(d, "panels"))
    {
        cr_assert(n < PANELS_MAX);
        const char *title = str_of(p, "title");
        cr_assert(title && *title, "panel %zu has no title", n + 1);
        const cJSON *gp = cJSON_GetObjectItemCaseSensitive(p, "gridPos");
        struct box b = {int_of(gp, "x"), int_of(gp, "y"), int_of(gp, "w"), int_of(gp, "h")};
        cr_assert(b.x >= 0 && b.w > 0 && b.x + b.w <= GRID_COLUMNS && b.y >= 0 && b.h > 0,
                  "panel \"%s\" does not fit Grafana's %d columns", title, GRID_COLUMNS);
        for (size_t i = 0; i < n; i++)
            cr_assert(!overlap(boxes[i], b), "panel \"%s\" overlaps panel %d", title, ids[i]);
        ids[n] = int_of(p, "id");
        for (size_t i = 0; i < n; i++)
            cr_assert_neq(ids[i], ids[n], "two panels have the id %d", ids[n]);
        boxes[n++] = b;
        const char *uid = str_of(cJSON_GetObjectItemCaseSensitive(p, "datasource"), "uid");
        cr_assert(uid && strcmp(uid, "${datasource}") == 0,
                  "panel \"%s\" should use the dashboard's datasource variable", title);
        const cJSON *t;
        size_t queries = 0;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(p, "targets"))
        {
            cr_assert(str_of(t, "expr") && *str_of(t, "expr") && str_of(t, "refId"),
                      "panel \"%s\": every target needs an expr and a refId", title);
            queries++;
        }
        cr_assert(queries > 0, "panel \"%s\" has no query", title);
    }
    cr_assert(n >= 8, "expected the RED, SLO and resource panels, found %zu panels", n);
    cJSON_Delete(d);
}

static char scratch[64];

static void remove_scratch(void)
{
    if (scratch[0]) {
        char out[128];
        (void)tk_sh(out, sizeof out, "rm -rf '%s'", scratch);
        scratch[0] = '\0';
    }
}

/* Every query as a recording rule of a scratch rules file, so that promtool parses each one
 * with Prometheus's own PromQL parser. */
GRADED(dashboard, every_query_is_promql_that_prometheus_parses, 1, .fini = remove_scratch)
{
    cJSON *d = dashboard();
    snprintf(scratch, sizeof scratch, "/tmp/taskd-dashboard-XXXXXX");
    cr_assert(mkdtemp(scratch));
    char path[128];
    snprintf(path, sizeof path, "%s/queries.yml", scratch);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("groups:\n  - name: dashboard\n    rules:\n", f);
    size_t n = 0;
    const cJSON *p, *t;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(d, "panels"))
    {
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(p, "targets"))
        {
            /* JSON's string escapes are YAML's too: the query goes in as a JSON string. */
            char *quoted = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(t, "expr"));
            cr_assert(quoted);
            fprintf(f, "      - record: dashboard:query_%zu\n        expr: %s\n", ++n, quoted);
            free(quoted);
        }
    }
    fclose(f);
    cJSON_Delete(d);
    char out[8192];
    int rc = tk_sh(out, sizeof out, "promtool check rules '%s' 2>&1", path);
    cr_assert_eq(rc, 0, "promtool does not accept a dashboard query:\n%s", out);
    char want[64];
    snprintf(want, sizeof want, "SUCCESS: %zu rules found", n);
    cr_assert(strstr(out, want), "promtool should have read %zu queries:\n%s", n, out);
}
