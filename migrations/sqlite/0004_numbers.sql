-- The number inventory and the objects numbers refer to.
--
-- Every index on `numbers` is paid on every bulk insert of up to a million
-- rows, so it has only what the calls need: the key (conflicts, get, ranges:
-- numbers of one width sort like their values under bytewise collation), the
-- batch (list or delete one import), and the owner for assigned numbers only
-- (pool numbers, customer 0, the bulk of an import, are not indexed there).

CREATE TABLE classes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    rank        INTEGER NOT NULL,
    created     INTEGER NOT NULL
);

CREATE TABLE ingroups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    code        TEXT   NOT NULL,
    created     INTEGER NOT NULL
);

CREATE TABLE regions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    created     INTEGER NOT NULL
);

-- One row per numbers/system/create that added numbers: the batch id.
CREATE TABLE number_batches (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    person  INTEGER NOT NULL,
    created INTEGER NOT NULL
);

CREATE TABLE numbers (
    number   TEXT NOT NULL,
    class    INTEGER NOT NULL,
    ingroup  INTEGER NOT NULL,
    customer INTEGER NOT NULL,
    region   INTEGER NOT NULL,
    alias    TEXT   NOT NULL,
    stype    TEXT   NOT NULL,
    batch    INTEGER NOT NULL,
    created  INTEGER NOT NULL,
    CONSTRAINT numbers_pkey PRIMARY KEY (number)
) WITHOUT ROWID; -- one B-tree keyed by number: no separate key index to maintain
CREATE INDEX numbers_batch ON numbers (batch);
CREATE INDEX numbers_assigned ON numbers (customer, number) WHERE customer <> 0;

-- charge_customer=1: one row per call (customer, class, count, batch, time).
CREATE TABLE number_charges (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    customer INTEGER NOT NULL,
    class    INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    batch    INTEGER NOT NULL,
    created  INTEGER NOT NULL
);
