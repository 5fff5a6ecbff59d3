/* deploy_package.c — week 5's .deb, read with dpkg-deb: the files it installs with their
 * owners and modes, the conffile, no secret inside, Depends: computed from the binaries, and
 * a version Debian accepts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "deploy_support.h"
#include "testkit.h"

/* What `dpkg-deb -c` must list: mode string, owner, path (sizes and dates vary). */
static const char *const expected_files[] = {
    "drwxr-xr-x root/root ./etc/taskd/",
    "drwx------ root/root ./etc/taskd/credentials/",
    "-rw-r--r-- root/root ./etc/taskd/taskd.env",
    "-rwxr-xr-x root/root ./usr/bin/taskd",
    "-rwxr-xr-x root/root ./usr/bin/taskd-worker",
    "-rw-r--r-- root/root ./usr/lib/systemd/system/taskd.service",
    "-rw-r--r-- root/root ./usr/lib/systemd/system/taskd-worker.service",
    "-rw-r--r-- root/root ./usr/lib/sysusers.d/taskd.conf",
    "-rw-r--r-- root/root ./usr/lib/tmpfiles.d/taskd.conf",
    "-rw-r--r-- root/root ./usr/share/doc/taskd/copyright",
};

GRADED(package, installs_the_files_with_owners_and_modes, 3)
{
    char out[16384];
    /* mode, owner and path of each entry, one a line */
    int rc = dp_sh(out, sizeof out, "dpkg-deb -c '%s' | awk '{ print $1, $2, $6 }'",
                   dp_env("PACKAGE_DEB"));
    cr_assert_eq(rc, 0, "dpkg-deb -c failed: %s", out);
    for (size_t i = 0; i < sizeof expected_files / sizeof expected_files[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s\n", expected_files[i]);
        cr_expect(strstr(out, line), "expected the package to hold \"%s\"; dpkg-deb -c says:\n%s",
                  expected_files[i], out);
    }
    /* Every entry belongs to root (--root-owner-group): the builder's user never leaks in. */
    rc = dp_sh(out, sizeof out, "dpkg-deb -c '%s' | awk '$2 != \"root/root\"'",
               dp_env("PACKAGE_DEB"));
    cr_expect(rc == 0 && out[0] == '\0', "expected every file to be root/root; these are not:\n%s",
              out);
}

GRADED(package, keeps_the_settings_as_a_conffile, 1)
{
    char out[1024];
    int rc = dp_sh(out, sizeof out, "dpkg-deb -I '%s' conffiles", dp_env("PACKAGE_DEB"));
    cr_expect_eq(rc, 0, "the package has no conffiles: %s", out);
    cr_expect_str_eq(out, "/etc/taskd/taskd.env\n",
                     "expected /etc/taskd/taskd.env to be the one conffile; got:\n%s", out);
}

/* The package never carries a secret: the credentials directory ships empty and root-only,
 * and the settings file names no secret's value (only *_FILE or nothing). */
GRADED(package, carries_no_secret, 2)
{
    char out[4096];
    int rc = dp_sh(out, sizeof out,
                   "dpkg-deb -c '%s' | awk '{ print $6 }' | grep '^./etc/taskd/credentials/.'",
                   dp_env("PACKAGE_DEB"));
    cr_expect_neq(rc, 0, "expected nothing inside /etc/taskd/credentials in the package; got:\n%s",
                  out);
    rc = dp_sh(out, sizeof out,
               "dpkg-deb --fsys-tarfile '%s' | tar -xOf - ./etc/taskd/taskd.env | "
               "grep -E '^(JWT_SECRET|REDIS_URL|SMTP_URL)=.*:[^/@]*@|^JWT_SECRET='",
               dp_env("PACKAGE_DEB"));
    cr_expect_neq(rc, 0,
                  "expected no secret (JWT_SECRET, a URL with a password) in taskd.env; "
                  "got:\n%s",
                  out);
}

GRADED(package, depends_on_the_libraries_the_binaries_link, 2)
{
    char depends[2048];
    dp_deb_field(dp_env("PACKAGE_DEB"), "Depends", depends, sizeof depends);
    /* The libraries of stage 4 and later, each as dpkg-shlibdeps names it (with a version). */
    static const char *const wanted[] = {
        "libc6 (>= ",    "libpq5 (>= ", "libmicrohttpd12 (>= ", "libhiredis", "libsodium23 (>= ",
        "libcurl4 (>= ", "systemd"};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        cr_expect(strstr(depends, wanted[i]), "expected Depends: to name %s; it is: %s", wanted[i],
                  depends);
}

GRADED(package, has_a_debian_version_and_maintainer_scripts, 2)
{
    const char *deb = dp_env("PACKAGE_DEB");
    char version[128], out[4096], name[256];
    dp_deb_field(deb, "Version", version, sizeof version);
    int rc = dp_sh(out, sizeof out, "dpkg --compare-versions '%s' gt 0", version);
    cr_expect_eq(rc, 0, "expected '%s' to be a valid Debian version above 0", version);
    snprintf(name, sizeof name, "/taskd_%s_amd64.deb", version);
    cr_expect(strstr(deb, name), "expected the file name to end in %s; it is %s", name, deb);
    rc = dp_sh(out, sizeof out,
               "dpkg-deb -I '%s' | grep -cE '^ +[0-9]+ bytes, +[0-9]+ lines +\\* "
               "+(postinst|prerm|postrm) '",
               deb);
    cr_expect_str_eq(out, "3\n",
                     "expected executable postinst, prerm and postrm; dpkg-deb -I "
                     "counts %s",
                     out);
}
