"""Migration files: a folder read once per command into an ordered, immutable ``Migrations``
that every verb below is handed (alembic's ``script/`` beside ``runtime/``).

- ``read``:  the front door (``read_folder``), one reader per layout behind one interface
- ``detect``: which tool's layout a folder is in (``--layout`` / ``layout =`` say it instead)
- ``yoyo``:  yoyo's layout: ``ID.sql`` + ``ID.rollback.sql``, header directives, ``depends`` order
- ``flyway``, ``gomigrate``, ``goose``, ``dbmate``, ``diesel``, ``sqitch``, ``prisma``, ``popx``:
  the other tools' layouts, each read by its own tool's documented rules
- ``source``: what a reader is handed, and the pieces the readers share
- ``placeholders``: placeholders in the layout tool's syntax, filled or refused
- ``model``: ``Migration`` (id, files, text, header, statements, checksum) and ``Migrations``
- ``new``:   the next migration and its rollback, one writer per layout (``schema-tools new``)
- ``text``:  a file's bytes as PostgreSQL would read them, or a refusal

Import the modules themselves; this package imports nothing.
"""
