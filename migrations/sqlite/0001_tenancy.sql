-- Roles, rate plans, customers and people: who may call what, and for whom.
-- Kept column for column in step with migrations/postgres (a test compares them).

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    created     INTEGER NOT NULL
);

-- access: 1 full, 2 read-only (get and list calls only).
CREATE TABLE role_privileges (
    role      INTEGER NOT NULL,
    privilege TEXT   NOT NULL,
    access    INTEGER NOT NULL,
    PRIMARY KEY (role, privilege)
);

CREATE TABLE plans (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT   NOT NULL,
    created INTEGER NOT NULL
);

-- maximum: -1 no limit, 0 forbidden, N at most N objects in one customer.
CREATE TABLE plan_features (
    plan     INTEGER NOT NULL,
    feature  TEXT   NOT NULL,
    included INTEGER NOT NULL,
    maximum  INTEGER NOT NULL,
    PRIMARY KEY (plan, feature)
);

-- parent 0: the root of the tree (customer 1, the system owner).
CREATE TABLE customers (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    parent  INTEGER NOT NULL,
    name    TEXT   NOT NULL,
    email   TEXT   NOT NULL,
    plan    INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX customers_parent ON customers (parent);

CREATE TABLE people (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer      INTEGER NOT NULL,
    username      TEXT   NOT NULL CONSTRAINT people_username_key UNIQUE,
    -- argon2id PHC string; never selected by a call that answers with rows.
    password_hash TEXT   NOT NULL,
    role          INTEGER NOT NULL,
    email         TEXT   NOT NULL DEFAULT '',
    forename      TEXT   NOT NULL DEFAULT '',
    surname       TEXT   NOT NULL DEFAULT '',
    created       INTEGER NOT NULL
);
CREATE INDEX people_customer ON people (customer);
