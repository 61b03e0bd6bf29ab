"""An ER diagram of a catalog as inline SVG: tables as boxes, foreign keys as arrows."""

from __future__ import annotations

from html import escape

from schema_tools import Catalog

BOX_WIDTH, ROW, HEADER, GAP, PER_ROW = 270, 17, 24, 80, 3
SHORT_TYPES = (("timestamp with time zone", "timestamptz"), ("timestamp without time zone", "timestamp"),
               ("character varying", "varchar"), ("double precision", "float8"))


def _short(type_: str) -> str:
    for long, short in SHORT_TYPES:
        type_ = type_.replace(long, short)
    return type_


def _order(catalog: Catalog) -> list[str]:
    """Referenced tables first, so arrows tend to point up and left."""
    done: list[str] = []
    pending = sorted(catalog.tables)
    while pending:
        ready = [t for t in pending if all(fk.ref_table in done or fk.ref_table == t or fk.ref_table not in catalog.tables
                                           for fk in catalog.tables[t].foreign_keys)] or pending[:1]
        for t in ready:
            pending.remove(t)
            done.append(t)
    return done


def er_svg(catalog: Catalog) -> str:
    """The diagram; empty text when there are no tables."""
    names = _order(catalog)
    if not names:
        return ""
    boxes: dict[str, tuple[int, int, int]] = {}
    y = 10
    for start in range(0, len(names), PER_ROW):
        row = names[start:start + PER_ROW]
        height = max(HEADER + ROW * len(catalog.tables[n].columns) + 6 for n in row)
        for i, name in enumerate(row):
            boxes[name] = (10 + i * (BOX_WIDTH + GAP), y, HEADER + ROW * len(catalog.tables[name].columns) + 6)
        y += height + GAP
    width = 10 + min(len(names), PER_ROW) * (BOX_WIDTH + GAP)
    parts = [f'<svg class="er" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {y}" width="{width}" '
             f'height="{y}" role="img" aria-label="entity-relationship diagram">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    for name in names:
        table = catalog.tables[name]
        x, top, height = boxes[name]
        pk = set(table.primary_key.columns) if table.primary_key else set()
        fk_cols = {c for fk in table.foreign_keys for c in fk.columns}
        parts.append(f'<g class="er-table" data-table="{escape(name)}">'
                     f'<rect x="{x}" y="{top}" width="{BOX_WIDTH}" height="{height}" rx="4" class="er-box"/>'
                     f'<rect x="{x}" y="{top}" width="{BOX_WIDTH}" height="{HEADER}" rx="4" class="er-head"/>'
                     f'<text x="{x + 8}" y="{top + 16}" class="er-title">{escape(name)}</text>')
        for i, column in enumerate(table.columns):
            mark = "PK " if column.name in pk else "FK " if column.name in fk_cols else ""
            parts.append(f'<text x="{x + 8}" y="{top + HEADER + 13 + i * ROW}" class="er-col">'
                         f'<tspan class="er-key">{mark}</tspan>{escape(column.name)}'
                         f'<tspan class="er-type"> {escape(_short(column.type))}{"" if column.not_null else "?"}</tspan></text>')
        parts.append("</g>")
    for name in names:
        table = catalog.tables[name]
        x, top, _ = boxes[name]
        for fk in table.foreign_keys:
            if fk.ref_table not in boxes:
                continue
            position = next((i for i, c in enumerate(table.columns) if c.name == fk.columns[0]), 0)
            sy = top + HEADER + 9 + position * ROW
            tx, ttop, theight = boxes[fk.ref_table]
            sx = x if tx + BOX_WIDTH / 2 < x + BOX_WIDTH / 2 else x + BOX_WIDTH
            if tx == x:  # same column of the grid: leave and enter on the left side
                sx = x
            ex = min(max(sx, tx + 10), tx + BOX_WIDTH - 10) if tx != x else tx
            ey = min(max(sy, ttop + 8), ttop + theight - 8)
            parts.append(f'<path class="er-fk" d="M {sx} {sy} L {ex} {ey}" marker-end="url(#arrow)">'
                         f'<title>{escape(name)}({escape(", ".join(fk.columns))}) -> {escape(fk.ref_table)} '
                         f'ON DELETE {escape(fk.on_delete.upper())}</title></path>')
    parts.append("</svg>")
    return "".join(parts)
