"""The server side: connections, URLs, scratch databases and the embedded PostgreSQL. Import the
modules themselves; this package imports nothing (so psycopg loads only where it is used)."""
