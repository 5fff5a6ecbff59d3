# Week 4's build facts. Stage 4 adds users and authentication: argon2id (libsodium, already
# linked), HS256 JWTs with OpenSSL's HMAC, refresh tokens, login throttling in Redis. Every
# earlier black-box suite runs again with a logged-in user: TK_AUTH=1 tells the test kit to
# register and log in on every server it starts, and to send the token with every request.
WEEK_SERVICES_4 :=
# The signing key of local runs and tests: a random file services.sh makes once (.run/jwt-secret).
# The suites register many users from 127.0.0.1, far past REGISTER_IP_MAX_ATTEMPTS' default of
# 20 an hour; api_register.c tests that throttle on a server of its own, with a low limit.
WEEK_TEST_ENV_4 := JWT_SECRET_FILE=.run/jwt-secret REGISTER_IP_MAX_ATTEMPTS=1000000
WEEK_RUN_ENV_4 := JWT_SECRET_FILE=.run/jwt-secret
WEEK_KIT_ENV_4 := TK_AUTH=1
