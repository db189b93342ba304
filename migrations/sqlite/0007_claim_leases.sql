-- A running claim of an Idempotency-Key carries its owner (one server
-- process) and a lease the owner renews while the call runs. A retry that
-- finds a claim whose lease has run out takes it over instead of waiting.
ALTER TABLE idempotency_keys ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
