"""Units of work (analyze, render, release, audit, package, reap) as database rows, run by a queue worker or the
embedded thread pool through the same functions; each is idempotent by its job id."""
