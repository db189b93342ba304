-- A rate plan belongs to a customer: the operator's plans to customer 1, a
-- reseller's to the reseller. Plans made before owners existed are the
-- operator's.
ALTER TABLE plans ADD COLUMN customer BIGINT NOT NULL DEFAULT 1;
