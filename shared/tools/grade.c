/* grade.c — the grade table: every suite result of every week and lab, summed.
 *
 * Each suite run writes RESULTS/<target>/<suite>.json (shared/testkit/tk_main.c). This tool reads
 * them all, prints one row per target (week-1, lab-1, ...) and writes the whole picture to a JSON
 * file for CI dashboards. Weeks must score 100%; a lab is the learner's work in progress, so its
 * row is information, and `make test` only checks that the pristine lab scores below 100%
 * (proof that the suite can fail).
 *
 * usage: grade RESULTS_DIR OUT.json [--only TARGET]
 * Exit status: 0 when every week target has no failed test, 1 otherwise. The last line is
 * "N passed, N failed" over the week targets (what CI reads). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#define TARGETS_MAX 64

struct target {
    char name[256];
    double points, max_points, passed, failed;
    int suites;
};

static cJSON *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = n > 0 ? malloc((size_t)n + 1) : NULL;
    cJSON *json = NULL;
    if (text && fread(text, 1, (size_t)n, f) == (size_t)n) {
        text[n] = '\0';
        json = cJSON_Parse(text);
    }
    free(text);
    fclose(f);
    return json;
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int by_name(const void *a, const void *b)
{
    const struct target *x = a, *y = b;
    /* week-2 before week-10: compare the kind, then the number */
    const char *dx = strchr(x->name, '-'), *dy = strchr(y->name, '-');
    size_t kx = dx ? (size_t)(dx - x->name) : strlen(x->name);
    size_t ky = dy ? (size_t)(dy - y->name) : strlen(y->name);
    int c = strncmp(y->name, x->name, kx < ky ? kx : ky); /* "week" before "lab" */
    if (c)
        return c;
    return atoi(dx ? dx + 1 : "0") - atoi(dy ? dy + 1 : "0");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: grade RESULTS_DIR OUT.json [--only TARGET]\n");
        return 2;
    }
    const char *only = argc >= 5 && strcmp(argv[3], "--only") == 0 ? argv[4] : NULL;
    struct target targets[TARGETS_MAX];
    size_t nt = 0;
    cJSON *out = cJSON_CreateObject();
    cJSON *out_targets = cJSON_AddObjectToObject(out, "targets");

    DIR *top = opendir(argv[1]);
    if (!top) {
        fprintf(stderr, "grade: no results in %s (run the suites first)\n", argv[1]);
        return 1;
    }
    struct dirent *te;
    while ((te = readdir(top)) && nt < TARGETS_MAX) {
        if (te->d_name[0] == '.' || (only && strcmp(te->d_name, only) != 0))
            continue;
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", argv[1], te->d_name);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct target *t = &targets[nt++];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", te->d_name);
        cJSON *suites = cJSON_CreateArray();
        struct dirent *se;
        while ((se = readdir(d))) {
            size_t len = strlen(se->d_name);
            if (len < 6 || strcmp(se->d_name + len - 5, ".json") != 0)
                continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, se->d_name);
            cJSON *r = load(path);
            if (!r) {
                fprintf(stderr, "grade: %s is not readable JSON\n", path);
                t->failed++;
                continue;
            }
            t->points += num(r, "points");
            t->max_points += num(r, "max_points");
            t->passed += num(r, "passed");
            t->failed += num(r, "failed");
            t->suites++;
            cJSON_AddItemToArray(suites, r);
        }
        closedir(d);
        cJSON *jt = cJSON_AddObjectToObject(out_targets, t->name);
        cJSON_AddNumberToObject(jt, "points", t->points);
        cJSON_AddNumberToObject(jt, "max_points", t->max_points);
        cJSON_AddNumberToObject(jt, "passed", t->passed);
        cJSON_AddNumberToObject(jt, "failed", t->failed);
        cJSON_AddItemToObject(jt, "suites", suites);
    }
    closedir(top);
    qsort(targets, nt, sizeof targets[0], by_name);

    double passed = 0, failed = 0;
    printf("\n%-10s %13s %8s %8s %8s\n", "target", "points", "score", "passed", "failed");
    for (size_t i = 0; i < nt; i++) {
        const struct target *t = &targets[i];
        double pct = t->max_points > 0 ? 100.0 * t->points / t->max_points : 0;
        printf("%-10s %6.0f/%-6.0f %7.1f%% %8.0f %8.0f%s\n", t->name, t->points, t->max_points, pct,
               t->passed, t->failed, strncmp(t->name, "lab-", 4) == 0 ? "   (your lab work)" : "");
        if (strncmp(t->name, "week-", 5) == 0) {
            passed += t->passed;
            failed += t->failed;
        }
    }
    FILE *f = fopen(argv[2], "w");
    char *text = cJSON_Print(out);
    if (f && text)
        fprintf(f, "%s\n", text);
    if (f)
        fclose(f);
    cJSON_free(text);
    cJSON_Delete(out);
    printf("(details: %s)\n", argv[2]);
    printf("%.0f passed, %.0f failed\n", passed, failed);
    return failed > 0 ? 1 : 0;
}
