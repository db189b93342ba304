-- Failed-login windows shared by every process on one database (used on
-- PostgreSQL; a single SQLite process keeps its windows in memory). Losing
-- them in a crash only forgives a few failures, so they need no WAL there.
CREATE TABLE auth_windows (
    kind        TEXT   NOT NULL,
    key         TEXT   NOT NULL,
    failures    BIGINT NOT NULL,
    ends        BIGINT NOT NULL,
    last_slowed BIGINT NOT NULL,
    CONSTRAINT auth_windows_pkey PRIMARY KEY (kind, key)
);
