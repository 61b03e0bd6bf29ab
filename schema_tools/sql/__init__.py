"""SQL text, read once: the only package that parses SQL (pglast, PostgreSQL's own parser) or
compares it by meaning (sqlglot). Everything else asks a ``Statement``.

- ``script``:     a file's text -> its statements, each with its line and parse tree, and the
                  syntax error PostgreSQL's parser finds (``read_script``)
- ``statement``:  ``Statement``: what one statement is and does (kind, targets, lock, CONCURRENTLY,
                  row changes, dropped data, session changes, transaction control, reach)
- ``locks``:      which lock a statement takes (the lock table, by parse-tree node)
- ``effects``:    targets, CONCURRENTLY, row changes, dropped data, session and transaction effects
- ``bodies``:     the statements inside DO blocks and function bodies (plpgsql parsed too)
- ``reach``:      what SQL can do beyond its database (programs, files, roles, settings)
- ``tree``, ``typenames``, ``printer``: parse-tree access, type names as format_type spells them,
                  expressions printed back as SQL
- ``meaning``:    expressions compared by meaning, no database needed: equal text decided there,
                  the rest by sqlglot (``glot``, imported only then)
- ``pgquery``:    libpg_query's C functions (parse to JSON, cut, plpgsql) called in the library pglast
                  ships, without importing pglast's Python modules
- ``ahead``:      a history's files parsed ahead in a child process, on another core (lint)
- ``scanner``:    tokens without a parser: psql's statement splitting (the fallback), comments
- ``identifiers``, ``fragments``, ``grammar``: names quoted, expectation and check fragments
                  made safe, the parsers' versions and whether a newer grammar reads a statement

Import the modules themselves; this package imports nothing.
"""
