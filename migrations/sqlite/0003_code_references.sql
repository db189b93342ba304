-- The objects feature codes refer to: music classes (music on hold), record
-- groups and time groups. Music classes and time groups may be shared with
-- every customer by the system owner.

CREATE TABLE music (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer    INTEGER NOT NULL,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    shared      INTEGER NOT NULL,
    created     INTEGER NOT NULL
);
CREATE INDEX music_customer ON music (customer);

CREATE TABLE recordgroups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer    INTEGER NOT NULL,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    created     INTEGER NOT NULL
);
CREATE INDEX recordgroups_customer ON recordgroups (customer);

CREATE TABLE timegroups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer    INTEGER NOT NULL,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    shared      INTEGER NOT NULL,
    created     INTEGER NOT NULL
);
CREATE INDEX timegroups_customer ON timegroups (customer);
