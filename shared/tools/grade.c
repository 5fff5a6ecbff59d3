/* grade.c — the grade table: every week and lab, graded or not, and the one next step.
 *
 * Each suite run writes RESULTS/<target>/<suite>.json (shared/testkit/tk_main.c). This tool reads
 * them all and prints one row per target: every week-N and lab-N of the weeks/ directory even
 * when never graded (a lab "not started", a week "reference, not graded"), with its score as a
 * bar, when it was graded, and "changed since" when its sources are newer than its results (a
 * stale score must not pass for a current one). Then the one next step to take. The whole
 * picture goes to a JSON file for mentors and CI: every suite and test, plus graded_at and the
 * git state (commit, dirty).
 *
 * Weeks must score 100%; a lab is the learner's work in progress, so its row is information, and
 * `make test` only checks the pristine lab (shared/scripts/lab-check.sh).
 *
 * usage: grade RESULTS_DIR OUT.json [--only TARGET] [--root DIR]
 *   --only TARGET  read and print that target alone (header and row; run-suites.sh's summary)
 *   --root DIR     the repository whose weeks/ and labs/ give the rows (default: .)
 * A missing RESULTS_DIR is a fresh clone: no row is graded yet, and that is no error.
 * Exit status: 1 when a graded week has a failed test, 0 otherwise. */
#include <dirent.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#define TARGETS_MAX  64
#define NAME_MAX_LEN 64
#define PATH_LEN     1024
#define BAR_WIDTH    20

struct target {
    char name[NAME_MAX_LEN]; /* week-N, lab-N, or any other results folder */
    int week;                /* N, or 0 for another target */
    bool is_lab, graded;
    double points, max_points, passed, failed;
    time_t graded_at;       /* when its first suite result was written */
    char changed[PATH_LEN]; /* a source newer than the results, or "" */
    cJSON *suites;          /* owned until added to the output */
};

struct table {
    struct target t[TARGETS_MAX];
    size_t n;
};

/* Reads a JSON file; NULL when it is missing or not JSON. The caller frees the result. */
static cJSON *load(const char *path)
{
    cJSON *json = NULL;
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        goto cleanup;
    if (fseek(f, 0, SEEK_END) != 0)
        goto cleanup;
    long n = ftell(f);
    if (n <= 0 || fseek(f, 0, SEEK_SET) != 0)
        goto cleanup;
    text = malloc((size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, f) != (size_t)n)
        goto cleanup;
    text[n] = '\0';
    json = cJSON_Parse(text);
cleanup:
    free(text);
    if (f)
        fclose(f);
    return json;
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The row named name, added (not started) when it is new; NULL when the table is full. */
static struct target *row(struct table *tb, const char *name)
{
    for (size_t i = 0; i < tb->n; i++)
        if (strcmp(tb->t[i].name, name) == 0)
            return &tb->t[i];
    if (tb->n == TARGETS_MAX)
        return NULL;
    struct target *t = &tb->t[tb->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    if (strncmp(name, "week-", 5) == 0)
        t->week = atoi(name + 5);
    else if (strncmp(name, "lab-", 4) == 0) {
        t->week = atoi(name + 4);
        t->is_lab = true;
    }
    return t;
}

/* The folder under root/parent whose name starts with NN- (week n), into out; 0 when found. */
static int numbered_dir(const char *root, const char *parent, int n, char *out, size_t size)
{
    char dir[PATH_LEN], prefix[8];
    snprintf(dir, sizeof dir, "%s/%s", root, parent);
    snprintf(prefix, sizeof prefix, "%02d-", n);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int rc = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            int w = snprintf(out, size, "%s/%s", dir, e->d_name);
            rc = w > 0 && (size_t)w < size ? 0 : -1;
            break;
        }
    }
    closedir(d);
    return rc;
}

/* Every week of root/weeks/NN-slug/ gets a week-N and a lab-N row. */
static void add_weeks(struct table *tb, const char *root)
{
    for (int n = 1; n < 100; n++) {
        char dir[PATH_LEN], name[NAME_MAX_LEN];
        if (numbered_dir(root, "weeks", n, dir, sizeof dir) != 0)
            continue;
        snprintf(name, sizeof name, "week-%d", n);
        row(tb, name);
        snprintf(name, sizeof name, "lab-%d", n);
        row(tb, name);
    }
}

/* Sums the suite results RESULTS/<name>/<suite>.json into its row. */
static void read_target(struct target *t, const char *results)
{
    char dir[PATH_LEN];
    snprintf(dir, sizeof dir, "%s/%s", results, t->name);
    DIR *d = opendir(dir);
    if (!d)
        return;
    t->suites = cJSON_CreateArray();
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char path[PATH_LEN + 256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && (!t->graded || st.st_mtime < t->graded_at))
            t->graded_at = st.st_mtime;
        t->graded = true;
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
        if (t->suites)
            cJSON_AddItemToArray(t->suites, r);
        else
            cJSON_Delete(r);
    }
    closedir(d);
}

/* nftw has no user pointer: the search in progress. */
static struct {
    time_t since;
    char found[PATH_LEN];
} newer;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    const char *base = path + ftw->base;
    if (type == FTW_D && base[0] == '.' && ftw->level > 0)
        return FTW_SKIP_SUBTREE; /* .backup/ and friends are not sources */
    if (type != FTW_F || base[0] == '.' || strcmp(base, "README.md") == 0)
        return FTW_CONTINUE;
    if (st->st_mtime > newer.since) {
        snprintf(newer.found, sizeof newer.found, "%s", path);
        return FTW_STOP;
    }
    return FTW_CONTINUE;
}

/* Sets t->changed to a source file newer than t's results: the lab's files for a lab, and for
 * both the week's and earlier weeks' sources and tests, and the shared core and test kit. */
static void find_changes(struct target *t, const char *root)
{
    if (!t->graded || t->week <= 0)
        return;
    newer.since = t->graded_at;
    newer.found[0] = '\0';
    char dir[PATH_LEN];
    if (t->is_lab && numbered_dir(root, "labs", t->week, dir, sizeof dir) == 0)
        nftw(dir, visit, 16, FTW_PHYS | FTW_ACTIONRETVAL);
    for (int n = 1; n <= t->week && !newer.found[0]; n++) {
        const char *parts[] = {"src", "tests", "migrations", "stage.c"};
        char wdir[PATH_LEN];
        if (numbered_dir(root, "weeks", n, wdir, sizeof wdir) != 0)
            continue;
        for (size_t i = 0; i < sizeof parts / sizeof parts[0] && !newer.found[0]; i++) {
            char path[PATH_LEN + 16];
            snprintf(path, sizeof path, "%s/%s", wdir, parts[i]);
            nftw(path, visit, 16, FTW_PHYS | FTW_ACTIONRETVAL);
        }
    }
    const char *shared[] = {"shared/src", "shared/testkit"};
    for (size_t i = 0; i < 2 && !newer.found[0]; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, shared[i]);
        nftw(dir, visit, 16, FTW_PHYS | FTW_ACTIONRETVAL);
    }
    const char *shown = newer.found;
    size_t rl = strlen(root);
    if (strncmp(shown, root, rl) == 0 && shown[rl] == '/')
        shown += rl + 1;
    snprintf(t->changed, sizeof t->changed, "%s", shown);
}

/* week-2 before week-10, every week before every lab, other targets last. */
static int by_name(const void *a, const void *b)
{
    const struct target *x = a, *y = b;
    int kx = x->week ? (x->is_lab ? 1 : 0) : 2, ky = y->week ? (y->is_lab ? 1 : 0) : 2;
    if (kx != ky)
        return kx - ky;
    if (x->week != y->week)
        return x->week - y->week;
    return strcmp(x->name, y->name);
}

static double pct_of(const struct target *t)
{
    return t->max_points > 0 ? 100.0 * t->points / t->max_points : 0;
}

static void when(time_t at, char *out, size_t size)
{
    struct tm tm;
    if (!localtime_r(&at, &tm) || strftime(out, size, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(out, size, "?");
}

static void print_header(void)
{
    printf("%-8s %-*s %7s %11s  %-16s  %s\n", "target", BAR_WIDTH + 2, "score", "", "points",
           "graded", "");
}

static void print_row(const struct target *t)
{
    /* A week is the reference, graded by make test-week-N; only a lab is the learner's, to be
     * started (the lab READMEs call the rows "week-N (reference)" and "lab-N (your work)"). */
    bool reference = !t->is_lab && t->week > 0;
    if (!t->graded) {
        char note[64] = "";
        if (reference)
            snprintf(note, sizeof note, "make test-week-%d grades it", t->week);
        printf("%-8s %-*s %7s %11s  %-16s  %s\n", t->name, BAR_WIDTH + 2,
               reference ? "reference, not graded" : "not started", "", "-", "-", note);
        return;
    }
    double pct = pct_of(t);
    char bar[BAR_WIDTH + 3], pts[32], at[32], note[PATH_LEN + 32] = "";
    int full = (int)(pct * BAR_WIDTH / 100.0);
    bar[0] = '[';
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[1 + i] = i < full ? '#' : '-';
    bar[BAR_WIDTH + 1] = ']';
    bar[BAR_WIDTH + 2] = '\0';
    snprintf(pts, sizeof pts, "%.0f/%.0f", t->points, t->max_points);
    when(t->graded_at, at, sizeof at);
    if (t->changed[0])
        snprintf(note, sizeof note, "changed since (%s)", t->changed);
    else if (t->failed > 0)
        snprintf(note, sizeof note, "%.0f failing", t->failed);
    else if (reference)
        snprintf(note, sizeof note, "reference");
    printf("%-8s %s %6.1f%% %11s  %-16s  %s\n", t->name, bar, pct, pts, at, note);
}

/* The one next step, into out. */
static void next_step(const struct table *tb, const char *root, char *out, size_t size)
{
    for (size_t i = 0; i < tb->n; i++) {
        const struct target *t = &tb->t[i];
        if (!t->is_lab && t->week && t->graded && t->failed > 0) {
            snprintf(out, size,
                     "make test-week-%d: the reference itself fails %.0f tests here "
                     "(is everything installed? make deps)",
                     t->week, t->failed);
            return;
        }
    }
    for (size_t i = 0; i < tb->n; i++) {
        const struct target *t = &tb->t[i];
        if (!t->is_lab)
            continue;
        if (!t->graded) {
            char dir[PATH_LEN];
            const char *shown = dir;
            if (numbered_dir(root, "labs", t->week, dir, sizeof dir) != 0)
                snprintf(dir, sizeof dir, "labs");
            else if (strncmp(dir, root, strlen(root)) == 0 && dir[strlen(root)] == '/')
                shown = dir + strlen(root) + 1;
            int w = snprintf(out, size, "make lab-%d: start lab %d (read %s/README.md first)",
                             t->week, t->week, shown);
            if (w < 0 || (size_t)w >= size)
                snprintf(out, size, "make lab-%d: start lab %d", t->week, t->week);
            return;
        }
        if (t->changed[0]) {
            snprintf(out, size, "make lab-%d: your files changed since lab %d was graded", t->week,
                     t->week);
            return;
        }
        if (t->failed > 0 || t->points < t->max_points) {
            snprintf(out, size, "make lab-%d: lab %d is at %.1f%% (make hint-%d for a hint)",
                     t->week, t->week, pct_of(t), t->week);
            return;
        }
    }
    snprintf(out, size,
             "every lab is at 100%%: compare yours with the reference (each lab "
             "README, \"When you are done\")");
}

/* The first line of a command's output, into out; 0 when the command succeeded. */
static int command_line(const char *cmd, char *out, size_t size)
{
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    if (fgets(out, (int)size, p))
        out[strcspn(out, "\n")] = '\0';
    return pclose(p) == 0 ? 0 : -1;
}

static void add_git(cJSON *out, const char *root)
{
    char cmd[PATH_LEN + 96], commit[128], dirty[PATH_LEN];
    snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD 2>/dev/null", root);
    if (strchr(root, '\'') || command_line(cmd, commit, sizeof commit) != 0) {
        cJSON_AddNullToObject(out, "git");
        return;
    }
    cJSON *git = cJSON_AddObjectToObject(out, "git");
    cJSON_AddStringToObject(git, "commit", commit);
    snprintf(cmd, sizeof cmd, "git -C '%s' status --porcelain 2>/dev/null", root);
    command_line(cmd, dirty, sizeof dirty);
    cJSON_AddBoolToObject(git, "dirty", dirty[0] != '\0');
}

static int write_json(const char *path, cJSON *out)
{
    char *text = cJSON_Print(out);
    FILE *f = text ? fopen(path, "w") : NULL;
    int rc = f && fprintf(f, "%s\n", text) > 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    cJSON_free(text);
    if (rc != 0)
        fprintf(stderr, "grade: cannot write %s\n", path);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: grade RESULTS_DIR OUT.json [--only TARGET] [--root DIR]\n");
        return 2;
    }
    const char *results = argv[1], *json_path = argv[2], *only = NULL, *root = ".";
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
        else if (strcmp(argv[i], "--root") == 0)
            root = argv[i + 1];
        else {
            fprintf(stderr, "grade: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    static struct table tb;
    if (only)
        row(&tb, only);
    else {
        add_weeks(&tb, root);
        DIR *top = opendir(results); /* absent on a fresh clone: no row is graded */
        struct dirent *e;
        while (top && (e = readdir(top))) {
            char dir[PATH_LEN];
            struct stat st;
            snprintf(dir, sizeof dir, "%s/%s", results, e->d_name);
            if (e->d_name[0] != '.' && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
                !row(&tb, e->d_name))
                fprintf(stderr, "grade: more than %d targets; %s left out\n", TARGETS_MAX,
                        e->d_name);
        }
        if (top)
            closedir(top);
    }
    for (size_t i = 0; i < tb.n; i++) {
        read_target(&tb.t[i], results);
        find_changes(&tb.t[i], root);
    }
    qsort(tb.t, tb.n, sizeof tb.t[0], by_name);

    char next[256], now_text[32];
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(now_text, sizeof now_text, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(now_text, sizeof now_text, "?");
    next_step(&tb, root, next, sizeof next);

    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "graded_at", now_text);
    add_git(out, root);
    cJSON_AddStringToObject(out, "next", next);
    cJSON *targets = cJSON_AddObjectToObject(out, "targets");
    double week_passed = 0, week_failed = 0;
    int weeks_graded = 0;
    print_header();
    for (size_t i = 0; i < tb.n; i++) {
        struct target *t = &tb.t[i];
        print_row(t);
        cJSON *jt = cJSON_AddObjectToObject(targets, t->name);
        cJSON_AddStringToObject(jt, "state",
                                t->graded                   ? "graded"
                                : !t->is_lab && t->week > 0 ? "not graded"
                                                            : "not started");
        if (t->graded) {
            char at[32];
            struct tm gt;
            if (!gmtime_r(&t->graded_at, &gt) ||
                strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &gt) == 0)
                snprintf(at, sizeof at, "?");
            cJSON_AddStringToObject(jt, "graded_at", at);
            cJSON_AddNumberToObject(jt, "points", t->points);
            cJSON_AddNumberToObject(jt, "max_points", t->max_points);
            cJSON_AddNumberToObject(jt, "passed", t->passed);
            cJSON_AddNumberToObject(jt, "failed", t->failed);
            if (t->changed[0])
                cJSON_AddStringToObject(jt, "changed_since", t->changed);
            else
                cJSON_AddNullToObject(jt, "changed_since");
        }
        if (t->suites) {
            cJSON_AddItemToObject(jt, "suites", t->suites);
            t->suites = NULL;
        }
        if (t->graded && !t->is_lab && t->week) {
            weeks_graded++;
            week_passed += t->passed;
            week_failed += t->failed;
        }
    }
    int rc = write_json(json_path, out) == 0 ? 0 : 1;
    cJSON_Delete(out);
    if (only)
        return rc;
    if (weeks_graded > 0)
        printf("The reference weeks: %.0f tests passed, %.0f failed (%d of them graded).\n",
               week_passed, week_failed, weeks_graded);
    printf("Next: %s\n", next);
    printf("(details: %s)\n", json_path);
    return week_failed > 0 ? 1 : rc;
}
