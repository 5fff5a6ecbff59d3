/* api_tls.c — black-box tests of the front's HTTPS: a certificate from a real ACME flow, the
 * protocols and ciphers offered, the redirect and HSTS, and renewal.
 *
 * The ACME tests run the whole chain on this machine: the front (nginx, plain HTTP first),
 * pebble (Let's Encrypt's ACME test server) with its DNS saying taskd.test is 127.0.0.1,
 * certbot proving control of taskd.test over HTTP-01 through the front's webroot, then the
 * front switched to HTTPS with what certbot got (front/acme.sh, front/front.sh tls). The others
 * use a local CA (front/tls-selfsigned.sh, what `make tls-selfsigned` makes), which is faster.
 * The handshakes are checked with openssl s_client, as an operator would. tls.conf.in is lab
 * 9.6: in the lab, the learner's copy ($TASKD_LAB_FILES). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testkit.h"

#define FRONT_DIR "weeks/09-nginx-monitoring/front"
#define NAME      "taskd.test"
#define OUT_MAX   16384

struct tls {
    struct tk_server *inst;
    char dir[64];     /* the front's run directory */
    char acme[80];    /* acme.sh's, inside dir */
    char tls_dir[80]; /* tls-selfsigned.sh's */
    int port, tls_port;
    char ca[160]; /* the CA file that checks what the front serves */
};

static struct tls g;

static const char *front_dir(void)
{
    static char d[80];
    snprintf(d, sizeof d, "%s/front", g.dir);
    return d;
}

static void tls_down(void)
{
    if (g.dir[0]) {
        char out[OUT_MAX];
        (void)tk_sh(out, sizeof out,
                    "bash " FRONT_DIR "/acme.sh down %s 2>/dev/null; bash " FRONT_DIR
                    "/front.sh down %s; rm -rf %s",
                    g.acme, front_dir(), g.dir);
    }
    tk_server_stop(g.inst);
    g = (struct tls){0};
}

/* Runs a shell command with the graded templates in its environment; fails the test, naming
 * what failed, unless it exits 0. */
static void must(char *out, size_t cap, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void must(char *out, size_t cap, const char *what, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char tmpl[1024];
    snprintf(tmpl, sizeof tmpl, "%s", tk_graded_file("nginx.conf.in", FRONT_DIR "/nginx.conf.in"));
    const char *tls = tk_graded_file("tls.conf.in", FRONT_DIR "/tls.conf.in");
    int rc = tk_sh(out, cap, "FRONT_TEMPLATE='%s' FRONT_TLS_TEMPLATE='%s' %s", tmpl, tls, cmd);
    cr_assert_eq(rc, 0, "%s failed (exit %d):\n%s\n(command: %s)", what, rc, out, cmd);
}

/* One instance behind a front on plain HTTP. */
static void front_plain(void)
{
    tk_need_local("starts nginx, pebble and certbot of its own");
    g.inst = tk_server_start((const char *const[]){"TRUSTED_PROXIES=127.0.0.1", NULL});
    cr_assert(g.inst);
    snprintf(g.dir, sizeof g.dir, "/tmp/taskd-tls-XXXXXX");
    cr_assert(mkdtemp(g.dir));
    /* nginx's workers (www-data when the suite runs as root) read the ACME webroot in here. */
    cr_assert_eq(chmod(g.dir, 0755), 0);
    (void)tk_run_dir_claim(g.dir);
    snprintf(g.acme, sizeof g.acme, "%s/acme", g.dir);
    snprintf(g.tls_dir, sizeof g.tls_dir, "%s/tls", g.dir);
    char out[OUT_MAX];
    must(out, sizeof out, "front.sh up", "bash " FRONT_DIR "/front.sh up %s %s", front_dir(),
         tk_server_url(g.inst) + 7);
    char path[96];
    snprintf(path, sizeof path, "%s/ports", front_dir());
    char *text = tk_read_file(path, NULL);
    cr_assert(text && sscanf(text, "%d %d", &g.port, &g.tls_port) == 2, "no ports in %s", path);
    free(text);
}

/* The front on HTTPS with a certificate from pebble through certbot. */
static void front_acme(void)
{
    front_plain();
    char out[OUT_MAX];
    must(out, sizeof out, "acme.sh up (pebble)", "bash " FRONT_DIR "/acme.sh up %s %d", g.acme,
         g.port);
    must(out, sizeof out, "certbot, through acme.sh issue",
         "bash " FRONT_DIR "/acme.sh issue %s " NAME " %s/webroot", g.acme, front_dir());
    must(out, sizeof out, "front.sh tls (lab 9.6: tls.conf.in)",
         "bash " FRONT_DIR "/front.sh tls %s %s/certbot/config/live/" NAME "/fullchain.pem "
         "%s/certbot/config/live/" NAME "/privkey.pem",
         front_dir(), g.acme, g.acme);
    snprintf(g.ca, sizeof g.ca, "%s/root.pem", g.acme);
}

/* The front on HTTPS with a certificate from a local CA. */
static void front_selfsigned(void)
{
    front_plain();
    char out[OUT_MAX];
    must(out, sizeof out, "tls-selfsigned.sh",
         "bash " FRONT_DIR "/tls-selfsigned.sh %s " NAME " localhost", g.tls_dir);
    must(out, sizeof out, "front.sh tls (lab 9.6: tls.conf.in)",
         "bash " FRONT_DIR "/front.sh tls %s %s/cert.pem %s/key.pem", front_dir(), g.tls_dir,
         g.tls_dir);
    snprintf(g.ca, sizeof g.ca, "%s/ca.pem", g.tls_dir);
}

/* openssl s_client to the HTTPS port with extra options; its output (both streams) in out,
 * its exit status returned. */
static int s_client(char *out, size_t cap, const char *options)
{
    return tk_sh(out, cap,
                 "echo | timeout 10 openssl s_client -connect 127.0.0.1:%d -servername " NAME
                 " -CAfile %s %s 2>&1",
                 g.tls_port, g.ca, options);
}

/* The serial number of the certificate the front serves now. */
static void served_serial(char *serial, size_t cap)
{
    char out[OUT_MAX];
    int rc = tk_sh(out, sizeof out,
                   "echo | timeout 10 openssl s_client -connect 127.0.0.1:%d -servername " NAME
                   " 2>/dev/null | openssl x509 -noout -serial",
                   g.tls_port);
    cr_assert(rc == 0 && strncmp(out, "serial=", 7) == 0, "no certificate served: %s", out);
    snprintf(serial, cap, "%.*s", (int)strcspn(out + 7, "\n"), out + 7);
}

GRADED(tls, acme_certificate_chains_to_the_ca_and_names_the_host, 3, .fini = tls_down,
       .timeout = 120)
{
    front_acme();
    char out[OUT_MAX];
    int rc = s_client(out, sizeof out, "-verify_hostname " NAME " -verify_return_error");
    cr_assert(
        rc == 0 && strstr(out, "Verify return code: 0 (ok)"),
        "the certificate certbot got from pebble should verify against pebble's root for " NAME
        " (lab 9.6 serves it):\n%.3000s",
        out);
    cr_assert(
        strstr(out, "Pebble Intermediate CA"),
        "the chain should include pebble's intermediate (fullchain.pem, not cert.pem):\n%.3000s",
        out);
    /* And the API answers over it, by name. */
    rc =
        tk_sh(out, sizeof out,
              "curl -s -D - -o /dev/null --max-time 10 --cacert %s --resolve " NAME ":%d:127.0.0.1 "
              "https://" NAME ":%d/health",
              g.ca, g.tls_port, g.tls_port);
    cr_assert(rc == 0 && strstr(out, " 200") &&
                  strcasestr(out, "strict-transport-security: max-age="),
              "GET /health over HTTPS should be 200 with HSTS:\n%s", out);
}

GRADED(tls, offers_tls_1_2_and_1_3_only_with_strong_ciphers, 2, .fini = tls_down)
{
    front_selfsigned();
    char out[OUT_MAX];
    static const char *const refused[][2] = {
        {"-tls1_1 -cipher DEFAULT@SECLEVEL=0", "TLS 1.1"},
        {"-tls1 -cipher DEFAULT@SECLEVEL=0", "TLS 1.0"},
        {"-tls1_2 -cipher AES128-SHA", "TLS 1.2 with a CBC cipher and no forward secrecy"},
        {"-tls1_2 -cipher ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256",
         "TLS 1.2 with a CBC cipher"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int rc = s_client(out, sizeof out, refused[i][0]);
        cr_assert(rc != 0 || !strstr(out, "Verify return code: 0 (ok)"),
                  "the front accepted %s (lab 9.6: ssl_protocols and ssl_ciphers):\n%.2000s",
                  refused[i][1], out);
    }
    int rc = s_client(out, sizeof out, "-tls1_2");
    cr_assert(rc == 0 && strstr(out, "New, TLSv1.2, Cipher is ECDHE-"),
              "TLS 1.2 with ECDHE should be offered:\n%.3000s", out);
    rc = s_client(out, sizeof out, "-tls1_3");
    cr_assert(rc == 0 && strstr(out, "New, TLSv1.3, Cipher is TLS_"),
              "TLS 1.3 should be offered:\n%.3000s", out);
}

GRADED(tls, http_redirects_to_https_and_hsts_is_sent, 1, .fini = tls_down)
{
    front_selfsigned();
    char out[OUT_MAX];
    int rc = tk_sh(out, sizeof out,
                   "curl -s -o /dev/null -w '%%{http_code} %%{redirect_url}' --max-time 5 "
                   "'http://127.0.0.1:%d/tasks?limit=5'",
                   g.port);
    char want[128];
    snprintf(want, sizeof want, "308 https://127.0.0.1:%d/tasks?limit=5", g.tls_port);
    cr_assert(rc == 0 && strcmp(out, want) == 0,
              "plain HTTP should answer 308 to the same URL over HTTPS: want \"%s\", got \"%s\"",
              want, out);
    /* ACME's challenge path is still answered over plain HTTP (renewal needs it). */
    char path[128];
    snprintf(path, sizeof path, "%s/webroot/.well-known/acme-challenge/probe-token", front_dir());
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("token-body", f);
    fclose(f);
    rc = tk_sh(out, sizeof out,
               "curl -s --max-time 5 http://127.0.0.1:%d/.well-known/acme-challenge/probe-token",
               g.port);
    cr_assert(rc == 0 && strcmp(out, "token-body") == 0,
              "the ACME challenge path should be served over plain HTTP, not redirected: %s", out);
    rc = tk_sh(out, sizeof out,
               "curl -s -D - -o /dev/null --max-time 5 --cacert %s https://localhost:%d/tasks",
               g.ca, g.tls_port);
    cr_assert(rc == 0 && strcasestr(out, "strict-transport-security: max-age=63072000"),
              "HTTPS answers should carry Strict-Transport-Security (two years):\n%s", out);
}

GRADED(tls, renewal_reloads_nginx_with_the_new_certificate, 2, .fini = tls_down, .timeout = 120)
{
    front_acme();
    char before[64], after[64], out[OUT_MAX];
    served_serial(before, sizeof before);
    must(out, sizeof out, "certbot renew with the deploy hook",
         "bash " FRONT_DIR "/acme.sh renew %s 'bash %s/" FRONT_DIR "/front.sh reload %s'", g.acme,
         getcwd((char[512]){0}, 512), front_dir());
    served_serial(after, sizeof after);
    cr_assert(strcmp(before, after) != 0,
              "after certbot renewed and ran its deploy hook (front.sh reload), nginx still "
              "serves the old certificate (serial %s)",
              before);
    char live[160];
    snprintf(live, sizeof live, "%s/certbot/config/live/" NAME "/cert.pem", g.acme);
    int rc = tk_sh(out, sizeof out, "openssl x509 -noout -serial -in %s", live);
    cr_assert(rc == 0 && strstr(out, after), "nginx serves %s, certbot's live certificate is %s",
              after, out);
}
