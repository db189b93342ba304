-- numbers/system/list?class=N;count=1 and a small class's pages: without an
-- index each read every row (600 ms at ten million numbers). Only the class,
-- not (class, number): PostgreSQL stores equal keys of one index once with a
-- list of rows, so the million numbers of one create, all of one class, cost
-- little to add (measured in the README, "Benchmark: ten million numbers").
CREATE INDEX numbers_class ON numbers (class);
