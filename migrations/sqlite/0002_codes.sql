-- Feature codes: dialable short codes that route a caller to a destination.
-- One row per (customer, code); a code shared by the system owner is visible
-- to every customer. SQLite compares text bytewise already.

CREATE TABLE codes (
    customer        INTEGER NOT NULL,
    code            TEXT NOT NULL,
    dtype           TEXT   NOT NULL,
    dnumber         TEXT NOT NULL,
    description     TEXT   NOT NULL,
    direct          INTEGER NOT NULL,
    fax_detect      INTEGER NOT NULL,
    fax_dtype       TEXT   NOT NULL,
    fax_dnumber     TEXT   NOT NULL,
    language        TEXT   NOT NULL,
    maximum_seconds INTEGER NOT NULL,
    music           INTEGER NOT NULL,
    owner           INTEGER NOT NULL,
    panel           INTEGER NOT NULL,
    password        TEXT   NOT NULL,
    play_message    INTEGER NOT NULL,
    recordgroup     INTEGER NOT NULL,
    ringtone        TEXT   NOT NULL,
    routing         TEXT   NOT NULL,
    screen          INTEGER NOT NULL,
    shared          INTEGER NOT NULL,
    sname           TEXT   NOT NULL,
    sname_action    TEXT   NOT NULL,
    text_dtype      TEXT   NOT NULL,
    text_dnumber    TEXT   NOT NULL,
    update_routing  INTEGER NOT NULL,
    created         INTEGER NOT NULL,
    CONSTRAINT codes_pkey PRIMARY KEY (customer, code)
);
CREATE INDEX codes_shared ON codes (shared, code);
