-- numbers/system/update's `shortcut`: 1 routes calls from the system's own
-- customers to the number internally instead of out through a carrier.
-- A constant default costs imports nothing (they do not send it).
ALTER TABLE numbers ADD COLUMN shortcut INTEGER NOT NULL DEFAULT 0;
