-- numbers/system/list?class=N;count=1 and a small class's pages: without an
-- index each read every row (600 ms at ten million numbers). Only the class,
-- not (class, number), the smaller index: PostgreSQL stores equal keys once
-- with a list of rows. It still costs a million-number create about a third
-- more time (measured in the README, "Benchmark: ten million numbers").
CREATE INDEX numbers_class ON numbers (class);
