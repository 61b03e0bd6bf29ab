"""Expectations: what tables must look like (model), read from TOML (parse), checked against a
catalog (check). Pure. Import the modules themselves: this package imports nothing, so the
model loads without sqlglot."""
