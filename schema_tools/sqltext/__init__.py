"""SQL as text: statement splitting (psql's rules), the lock each statement takes, and expressions
compared by meaning (sqlglot). Import the modules themselves; this package imports nothing."""
