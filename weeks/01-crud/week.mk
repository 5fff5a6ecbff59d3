# Week 1's build facts: the pkg-config packages its code links against.
WEEK_PKGS_1 := libmicrohttpd libcjson libsodium sqlite3
