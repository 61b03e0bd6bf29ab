"""The migration engine: migration files, history tables, runner, advisory lock, validation,
plan and reversibility. Import the modules themselves; this package imports nothing."""
