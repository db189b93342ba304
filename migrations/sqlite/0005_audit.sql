-- One row per call that acted: who, from where, when, which call, which object.
-- A number range is one row (range, count, batch), not one per number.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    person   INTEGER NOT NULL,
    username TEXT   NOT NULL,
    customer INTEGER NOT NULL,
    client   TEXT   NOT NULL,
    call     TEXT   NOT NULL,
    object   TEXT   NOT NULL,
    created  INTEGER NOT NULL
);
CREATE INDEX audit_created ON audit (created);
