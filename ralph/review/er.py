"""An ER diagram of a catalog as inline SVG: tables as boxes on a grid, each column with its
flags (PK, FK, U unique, I leads an index, C in a check), foreign keys as arrows from the
referencing column's row to the referenced column's row, routed through the free space between
boxes (gutters and row gaps), never across a box."""

from __future__ import annotations

from html import escape

from schema_tools import Catalog, Table

BOX_WIDTH, ROW, HEADER, GAP, PER_ROW, MARGIN = 270, 17, 24, 80, 3, 50
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


def _flags(table: Table, column: str) -> str:
    """PK / FK, then U (unique alone), I (leads an index), C (named in a CHECK)."""
    key = "PK" if table.primary_key and column in table.primary_key.columns else \
        "FK" if any(column in fk.columns for fk in table.foreign_keys) else ""
    unique = any(u.columns == (column,) for u in table.uniques) or \
        any(i.unique and i.keys == (column,) and not i.primary for i in table.indexes)
    indexed = any(i.keys[:1] == (column,) and i.valid for i in table.indexes)
    checked = any(column in c.columns for c in table.checks)
    return " ".join(part for part in (key, "U" if unique else "", "I" if indexed else "", "C" if checked else "") if part)


class _Grid:
    """Where each box is, and the free lanes around it."""

    def __init__(self, catalog: Catalog, names: list[str]) -> None:
        self.place: dict[str, tuple[int, int]] = {}  # table -> (grid column, grid row)
        self.box: dict[str, tuple[int, int, int]] = {}  # table -> (x, y, height)
        self.row_top: list[int] = []
        y = MARGIN
        for start in range(0, len(names), PER_ROW):
            row = names[start:start + PER_ROW]
            self.row_top.append(y)
            height = max(HEADER + ROW * len(catalog.tables[n].columns) + 6 for n in row)
            for i, name in enumerate(row):
                self.place[name] = (i, len(self.row_top) - 1)
                self.box[name] = (MARGIN + i * (BOX_WIDTH + GAP), y, HEADER + ROW * len(catalog.tables[name].columns) + 6)
            y += height + GAP
        self.width = MARGIN * 2 + min(len(names), PER_ROW) * (BOX_WIDTH + GAP) - GAP
        self.height = y - GAP + MARGIN

    def gutter(self, column: int) -> float:
        """The free lane left of grid column ``column``."""
        return MARGIN + column * (BOX_WIDTH + GAP) - (GAP if column else MARGIN) / 2

    def row_gap(self, row: int) -> float:
        """The free lane above grid row ``row``."""
        return self.row_top[row] - (GAP if row else MARGIN) / 2

    def row_y(self, table: Table, name: str, column: str) -> int:
        """The top of ``column``'s row in ``name``'s box."""
        index = next((i for i, c in enumerate(table.columns) if c.name == column), 0)
        return self.box[name][1] + HEADER + index * ROW


def _arrow(grid: _Grid, catalog: Catalog, source: str, fk_columns: tuple[str, ...], target: str,
           ref_columns: tuple[str, ...], lane: int) -> str:
    """The path's ``d``: from the referencing column's row to the referenced one's."""
    (sc, _), (tc, tr) = grid.place[source], grid.place[target]
    sx, _, _ = grid.box[source]
    tx, _, _ = grid.box[target]
    sy = grid.row_y(catalog.tables[source], source, fk_columns[0]) + ROW / 2
    ref = ref_columns[0] if ref_columns else (catalog.tables[target].primary_key.columns[0]  # type: ignore[union-attr]
                                              if catalog.tables[target].primary_key else "")
    ey = grid.row_y(catalog.tables[target], target, ref) + ROW / 2
    shift = (lane % 5) * 4 - 8  # arrows sharing a lane sit side by side
    if tc > sc:
        start_x, out = sx + BOX_WIDTH, grid.gutter(sc + 1) + shift
        end_x, into = tx, grid.gutter(tc) + shift
    elif tc < sc:
        start_x, out = sx, grid.gutter(sc) + shift
        end_x, into = tx + BOX_WIDTH, grid.gutter(tc + 1) + shift
    else:
        start_x, out = sx, grid.gutter(sc) + shift
        end_x, into = tx, out
    if out == into:
        return f"M {start_x} {sy} H {out} V {ey} H {end_x}"
    return f"M {start_x} {sy} H {out} V {grid.row_gap(tr) + shift} H {into} V {ey} H {end_x}"


def er_svg(catalog: Catalog) -> str:
    """The diagram; empty text when there are no tables."""
    names = _order(catalog)
    if not names:
        return ""
    grid = _Grid(catalog, names)
    parts = [f'<svg class="er" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {grid.width} {grid.height}" '
             f'width="{grid.width}" height="{grid.height}" role="img" aria-label="entity-relationship diagram">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
             f'<text x="{MARGIN}" y="{grid.height - 14}" class="er-col">PK primary key, FK foreign key, U unique, '
             'I leads an index, C in a CHECK; ? nullable</text>']
    for name in names:
        table = catalog.tables[name]
        x, top, height = grid.box[name]
        parts.append(f'<g class="er-table" data-table="{escape(name)}">'
                     f'<rect x="{x}" y="{top}" width="{BOX_WIDTH}" height="{height}" rx="4" class="er-box"/>'
                     f'<rect x="{x}" y="{top}" width="{BOX_WIDTH}" height="{HEADER}" rx="4" class="er-head"/>'
                     f'<text x="{x + 8}" y="{top + 16}" class="er-title">{escape(name)}</text>')
        for i, column in enumerate(table.columns):
            row_top = top + HEADER + i * ROW
            flags = _flags(table, column.name)
            parts.append(f'<rect class="er-row" data-column="{escape(name)}.{escape(column.name)}" x="{x}" y="{row_top}" '
                         f'width="{BOX_WIDTH}" height="{ROW}"/>'
                         f'<text x="{x + 8}" y="{row_top + 13}" class="er-col">{escape(column.name)}'
                         f'<tspan class="er-type"> {escape(_short(column.type))}{"" if column.not_null else "?"}</tspan>'
                         f'</text><text x="{x + BOX_WIDTH - 8}" y="{row_top + 13}" text-anchor="end" '
                         f'class="er-flag">{flags}</text>')
        parts.append("</g>")
    lane = 0
    for name in names:
        table = catalog.tables[name]
        for fk in table.foreign_keys:
            if fk.ref_table not in grid.box:
                continue
            d = _arrow(grid, catalog, name, fk.columns, fk.ref_table, fk.ref_columns, lane)
            lane += 1
            ref = fk.ref_columns[0] if fk.ref_columns else ""
            parts.append(f'<path class="er-fk" d="{d}" marker-end="url(#arrow)" data-from="{escape(name)}.'
                         f'{escape(fk.columns[0])}" data-to="{escape(fk.ref_table)}.{escape(ref)}">'
                         f'<title>{escape(name)}({escape(", ".join(fk.columns))}) -> {escape(fk.ref_table)}'
                         f'({escape(", ".join(fk.ref_columns))}) ON DELETE {escape(fk.on_delete.upper())}</title></path>')
    parts.append("</svg>")
    return "".join(parts)
