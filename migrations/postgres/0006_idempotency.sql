-- Idempotency-Key: the first answer to a writing call, kept for 24 hours so
-- that a retry with the same key and parameters gets it again without acting
-- twice. In the database, so that every process honours every key.
CREATE TABLE idempotency_keys (
    person      BIGINT NOT NULL,
    key         TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    -- 0 while the first call runs; then the HTTP status of its answer.
    http_status BIGINT NOT NULL,
    body        TEXT   NOT NULL,
    created     BIGINT NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (person, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);
