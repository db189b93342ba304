-- PostgreSQL announces changes to logins (triggers with NOTIFY) so that its
-- credential caches need not read the person on every call. SQLite has no
-- way to tell another process, and reading the person there costs no round
-- trip over a network, so its caches keep reading the current hash on every
-- call and this migration changes nothing; it keeps the two histories in step.
SELECT 1;
