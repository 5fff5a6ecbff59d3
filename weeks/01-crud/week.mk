# Week 1's build facts: none beyond its code and its packages file (libmicrohttpd, cJSON,
# libsodium, SQLite), and no services: stage 1 keeps its tasks in a SQLite file under .run/.
