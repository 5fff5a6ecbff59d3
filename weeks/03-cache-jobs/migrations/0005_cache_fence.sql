-- 0005_cache_fence: the cache's shared fence (week 3, src/cache_fence.h). When a write
-- cannot invalidate its cache entry (the cache refuses writes, or does not answer), the entry may
-- stay stale for one TTL, and every API instance on this database must stop trusting the cache
-- until then. Redis is the thing that failed, so the fence lives here, in the one place every
-- instance reaches: a single row, "do not read the cache before `until`".
CREATE TABLE cache_fence (
    one   boolean     PRIMARY KEY DEFAULT true CHECK (one),
    until timestamptz NOT NULL DEFAULT 'epoch'
);
INSERT INTO cache_fence DEFAULT VALUES;
