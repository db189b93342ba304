-- numbers/system/list?class=N;count=1 and a small class's pages: without an
-- index each read every row at ten million numbers. On this WITHOUT ROWID
-- table the index holds (class, number), so a class's pages come in number
-- order; a create's numbers, of one class and ascending, are appended within
-- their class (cost measured in the README, "Benchmark: ten million numbers").
CREATE INDEX numbers_class ON numbers (class);
