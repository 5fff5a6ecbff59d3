# Week 8's build facts. Stage 8 is stage 7 delivered by a pipeline: it needs no new service for
# its suites or `make run` (the registry in this week's packages serves `make publish` only, and
# the staging server is week 5's), and no new program: the delivery tools are scripts (ci/,
# release/, deploy/, autoupdate/) and one load generator (tools/loadcheck.c, mk/deploy.mk).
WEEK_SERVICES_8 :=
WEEK_TEST_ENV_8 :=
WEEK_RUN_ENV_8 :=
WEEK_TOOLS_8 :=
# Lab 8's files are not C (the pipeline, the deploy script): its taskd is stage 8's own, so the
# lab is graded with week 8's suites alone (labs.mk, lab_api_suites).
WEEK_LAB_SUITES_8 := own
