-- A number's life after the pool: what a customer routes it to, what it
-- costs, and the customer's ledger. Kept column for column in step with
-- migrations/sqlite (a test compares them).

-- Prices in ten-thousandths of the currency unit: never a float.
ALTER TABLE classes ADD COLUMN setup INTEGER NOT NULL DEFAULT 0;
ALTER TABLE classes ADD COLUMN monthly INTEGER NOT NULL DEFAULT 0;

-- The customer-side fields of an owned number, written by numbers/update.
-- A number without a row here has the defaults (no routing), so pool
-- numbers and million-number imports pay nothing for these columns. The
-- row is removed when the number goes back to the pool or changes hands.
CREATE TABLE number_routes (
    number          TEXT NOT NULL,
    customer        INTEGER NOT NULL,
    description     TEXT   NOT NULL,
    dtype           TEXT   NOT NULL,
    dnumber         TEXT NOT NULL,
    fax_detect      INTEGER NOT NULL,
    fax_dtype       TEXT   NOT NULL,
    fax_dnumber     TEXT   NOT NULL,
    callerid        TEXT   NOT NULL,
    allow_callerid  TEXT   NOT NULL,
    directory       INTEGER NOT NULL,
    language        TEXT   NOT NULL,
    maximum_seconds INTEGER NOT NULL,
    music           INTEGER NOT NULL,
    owner           INTEGER NOT NULL,
    password        TEXT   NOT NULL,
    recordgroup     INTEGER NOT NULL,
    ringtone        TEXT   NOT NULL,
    routing         TEXT   NOT NULL,
    screen          INTEGER NOT NULL,
    sname           TEXT   NOT NULL,
    sname_action    TEXT   NOT NULL,
    CONSTRAINT number_routes_pkey PRIMARY KEY (number)
) WITHOUT ROWID;
-- What routes to a number (releasing it must find them): codes and numbers
-- whose call or fax destination is of type number.
CREATE INDEX number_routes_to ON number_routes (dnumber) WHERE dtype = 'number';
CREATE INDEX codes_to_number ON codes (dnumber) WHERE dtype = 'number';
CREATE INDEX codes_fax_to_number ON codes (fax_dnumber) WHERE fax_dtype = 'number';

-- Each customer's ledger: a charge is negative, a credit positive; the
-- balance is the sum.
CREATE TABLE ledger (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer    INTEGER NOT NULL,
    type        TEXT   NOT NULL,
    amount      INTEGER NOT NULL,
    class       INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    batch       INTEGER NOT NULL,
    number      TEXT   NOT NULL,
    description TEXT   NOT NULL,
    person      INTEGER NOT NULL,
    created     INTEGER NOT NULL
);
CREATE INDEX ledger_customer ON ledger (customer, id);

-- Charges recorded before the ledger existed were of classes without a price.
INSERT INTO ledger (customer, type, amount, class, count, batch, number, description, person, created)
    SELECT c.customer, 'setup', 0, c.class, c.count, c.batch, '', '', COALESCE(b.person, 0), c.created
    FROM number_charges c LEFT JOIN number_batches b ON b.id = c.batch ORDER BY c.id;
DROP TABLE number_charges;
