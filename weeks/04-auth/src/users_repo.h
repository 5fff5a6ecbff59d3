/* users_repo.h — users and refresh tokens in PostgreSQL (migrations/0003_users.sql). */
#ifndef TASKD_USERS_REPO_H
#define TASKD_USERS_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "password.h"

struct pg_pool;

#define USER_EMAIL_MAX 254

struct user {
    int64_t id;
    char email[USER_EMAIL_MAX + 1];
    char password_hash[PASSWORD_HASH_MAX];
    int64_t created_at; /* µs since the epoch */
};

/* Inserts a user (email already normalised). ERR_CONFLICT when the e-mail is taken. */
int users_create(struct pg_pool *p, const char *email, const char *password_hash, struct user *out);
/* A live (not deleted) user: 0 or ERR_NOT_FOUND. */
int users_by_email(struct pg_pool *p, const char *email, struct user *out);
int users_by_id(struct pg_pool *p, int64_t id, struct user *out);
/* Replaces the hash (a rehash with stronger parameters at login). */
int users_set_password_hash(struct pg_pool *p, int64_t id, const char *password_hash);

#define REFRESH_TOKEN_BYTES 32 /* 256 random bits */

/* Stores a refresh token's SHA-256 for user_id, in family_id (0: a new family, from a login),
 * valid until expires_at (µs). *family_out gets the family. */
int refresh_store(struct pg_pool *p, int64_t user_id, int64_t family_id,
                  const unsigned char hash[32], int64_t expires_at, int64_t *family_out);

/* Spends a refresh token, atomically: one conditional UPDATE marks it spent only when it is
 * unspent, unrevoked and unexpired, so of two concurrent refreshes with one token exactly one
 * wins. 0 with *user_id and *family_id (the caller issues the next token in that family);
 * ERR_CONFLICT when the token was already spent or revoked — reuse: the whole family is revoked
 * before returning; ERR_NOT_FOUND for an unknown or expired token. */
int refresh_spend(struct pg_pool *p, const unsigned char hash[32], int64_t *user_id,
                  int64_t *family_id);

/* Logout: revokes every token of the family the token with this SHA-256 belongs to, spent or
 * not, so no token of that login refreshes again. 0 as well when the token is unknown or its
 * family was revoked already: the family is unusable either way. Access tokens already issued
 * are JWTs nobody stores; they stay valid until their exp. */
int refresh_revoke_family(struct pg_pool *p, const unsigned char hash[32]);

#endif
