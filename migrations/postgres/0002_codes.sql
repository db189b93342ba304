-- Feature codes: dialable short codes that route a caller to a destination.
-- One row per (customer, code); a code shared by the system owner is visible
-- to every customer. Text that is sorted or compared as digits is COLLATE "C"
-- so that ordering is bytewise, as on SQLite.

CREATE TABLE codes (
    customer        BIGINT NOT NULL,
    code            TEXT COLLATE "C" NOT NULL,
    dtype           TEXT   NOT NULL,
    dnumber         TEXT COLLATE "C" NOT NULL,
    description     TEXT   NOT NULL,
    direct          BIGINT NOT NULL,
    fax_detect      BIGINT NOT NULL,
    fax_dtype       TEXT   NOT NULL,
    fax_dnumber     TEXT   NOT NULL,
    language        TEXT   NOT NULL,
    maximum_seconds BIGINT NOT NULL,
    music           BIGINT NOT NULL,
    owner           BIGINT NOT NULL,
    panel           BIGINT NOT NULL,
    password        TEXT   NOT NULL,
    play_message    BIGINT NOT NULL,
    recordgroup     BIGINT NOT NULL,
    ringtone        TEXT   NOT NULL,
    routing         TEXT   NOT NULL,
    screen          BIGINT NOT NULL,
    shared          BIGINT NOT NULL,
    sname           TEXT   NOT NULL,
    sname_action    TEXT   NOT NULL,
    text_dtype      TEXT   NOT NULL,
    text_dnumber    TEXT   NOT NULL,
    update_routing  BIGINT NOT NULL,
    created         BIGINT NOT NULL,
    CONSTRAINT codes_pkey PRIMARY KEY (customer, code)
);
CREATE INDEX codes_shared ON codes (shared, code);
