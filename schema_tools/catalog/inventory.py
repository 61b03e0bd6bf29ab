"""Every user-visible object, named, with its definition: to compare a database before and after."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

from .model import BOOKKEEPING

INVENTORY_SQL = """
WITH ns AS (
  SELECT oid, nspname FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'sqitch') AND nspname NOT LIKE 'pg\\_%%'  -- sqitch: its registry
)
SELECT 'schema ' || nspname, '' FROM ns WHERE nspname <> 'public'
UNION ALL
SELECT 'grants on schema ' || n.nspname, coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))::text
FROM pg_namespace n JOIN ns ON ns.oid = n.oid
UNION ALL
SELECT 'relation ' || ns.nspname || '.' || c.relname, 'kind=' || c.relkind::text
       || coalesce(' table=' || (SELECT to_json(tn.nspname || '.' || t.relname)::text FROM pg_index i
                   JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
                   WHERE i.indexrelid = c.oid), '')
       || coalesce(' index=' || pg_get_indexdef(c.oid), '')
       || CASE WHEN c.relrowsecurity THEN ' row-security' ELSE '' END
       || CASE WHEN c.relforcerowsecurity THEN ' forced' ELSE '' END
       || CASE WHEN c.relpersistence = 'u' THEN ' unlogged' ELSE '' END
       || CASE WHEN c.relkind IN ('r', 'p', 'm') AND c.relreplident <> 'd' THEN ' replica-identity=' || c.relreplident::text
               ELSE '' END
       || coalesce(' options=' || c.reloptions::text, '')
       || coalesce(' sequence=' || (SELECT concat_ws(',', s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmax,
                                                     s.seqmin, s.seqcache, s.seqcycle)
                                    FROM pg_sequence s WHERE s.seqrelid = c.oid), '')
       || CASE WHEN c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
               THEN ' grants=' || coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char",
                                                                   c.relowner))::text ELSE '' END
       || coalesce(' owned-by=' || (SELECT tn.nspname || '.' || t.relname FROM pg_depend d
                   JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
                   WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) || ';', '')
       || coalesce(E'\nview:\n' || CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END, '')
FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
WHERE NOT (c.relname = ANY(%(skip)s)) AND c.relkind <> 't'
  AND NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                  WHERE i.indexrelid = c.oid AND t.relname = ANY(%(skip)s))
  AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                  WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') AND t.relname = ANY(%(skip)s)))
UNION ALL
SELECT 'column ' || ns.nspname || '.' || c.relname || '.' || a.attname, format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
       || CASE WHEN a.attidentity <> '' THEN ' identity=' || a.attidentity::text ELSE '' END
       || CASE WHEN a.attgenerated <> '' THEN ' generated=' || a.attgenerated::text ELSE '' END
       || CASE WHEN a.attcollation <> 0 AND a.attcollation IS DISTINCT FROM (SELECT typcollation FROM pg_type
               WHERE oid = a.atttypid) THEN ' collate ' || a.attcollation::regcollation::text ELSE '' END
       || coalesce(' grants=' || a.attacl::text, '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
  AND NOT (c.relname = ANY(%(skip)s))
UNION ALL
SELECT 'constraint ' || ns.nspname || '.' || coalesce(c.relname, t.typname) || ' ' || con.conname,
       pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN ns ON ns.oid = con.connamespace
LEFT JOIN pg_class c ON c.oid = con.conrelid LEFT JOIN pg_type t ON t.oid = con.contypid
WHERE NOT (coalesce(c.relname, '') = ANY(%(skip)s))
UNION ALL
SELECT 'function ' || ns.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       'grants=' || coalesce(p.proacl, acldefault('f'::"char", p.proowner))::text || E'\n' || pg_get_functiondef(p.oid)
FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace WHERE p.prokind IN ('f', 'p')
UNION ALL
SELECT 'type ' || ns.nspname || '.' || t.typname, t.typtype::text
       || coalesce(' labels=' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                                  FROM pg_enum e WHERE e.enumtypid = t.oid), '')
FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd', 'r', 'm') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
UNION ALL
SELECT 'trigger ' || ns.nspname || '.' || c.relname || '.' || tg.tgname,
       pg_get_triggerdef(tg.oid) || CASE WHEN tg.tgenabled <> 'O' THEN ' enabled=' || tg.tgenabled::text ELSE '' END
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN ns ON ns.oid = c.relnamespace WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'policy ' || c.relname || '.' || pol.polname, pol.polcmd::text || ' ' || pol.polpermissive::text || ' '
       || coalesce(pg_get_expr(pol.polqual, pol.polrelid), '') || ' ' || coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '')
FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
UNION ALL
SELECT 'rule ' || ns.nspname || '.' || c.relname || '.' || r.rulename, pg_get_ruledef(r.oid)
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN ns ON ns.oid = c.relnamespace
WHERE r.rulename <> '_RETURN'
UNION ALL
SELECT 'event trigger ' || evtname, evtevent || ' ' || evtfoid::regproc::text || ' ' || evtenabled::text
FROM pg_event_trigger
UNION ALL
SELECT 'extension ' || extname, '' FROM pg_extension WHERE extname <> 'plpgsql'
UNION ALL
SELECT 'default privileges of ' || pg_get_userbyid(da.defaclrole) || coalesce(' in ' || n.nspname, '') || ' on '
       || da.defaclobjtype::text, da.defaclacl::text
FROM pg_default_acl da LEFT JOIN pg_namespace n ON n.oid = da.defaclnamespace
UNION ALL
SELECT 'comment on ' || ns.nspname || '.' || c.relname || coalesce('.' || a.attname, ''), d.description
FROM pg_description d JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
JOIN ns ON ns.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
"""


OWNER = "<owner>"
Inventory = dict[str, str]
"""What an object is (``column public.users.email``) -> its definition."""


def inventory(conn: psycopg.Connection) -> Inventory:
    """Every object in every non-system schema (bookkeeping tables left out), by name."""
    return dict(conn.execute(INVENTORY_SQL, {"skip": list(BOOKKEEPING)}).fetchall())


def _acl_owner(text: str, names: set[str]) -> str:
    """``text`` with each of ``names`` (roles) written ``<owner>`` where it stands in an ACL item
    (``name=privileges/grantor``), quoted or not."""
    if not names:
        return text
    alternatives = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    quoted = "|".join(re.escape('"' + n.replace('"', '""') + '"') for n in names)
    return re.sub(rf"(^|[{{,/])(?:{quoted}|{alternatives})(?=[=/,}}]|$)", lambda m: m.group(1) + OWNER, text)


def folded(objects: Inventory, names: set[str]) -> Inventory:
    """The inventory with its owners' names folded in grants (see ``_acl_owner``)."""
    out: Inventory = {}
    for key, definition in objects.items():
        if key.startswith("default privileges of "):
            head, sep, tail = key[len("default privileges of "):].partition(" ")
            key = f"default privileges of {OWNER if head in names else head}{sep}{tail}"
        if "grants=" in definition:
            definition = re.sub(r"grants=(\{[^}]*\})", lambda m: "grants=" + _acl_owner(m.group(1), names), definition)
        elif key.startswith(("grants on schema ", "default privileges of ")):
            definition = _acl_owner(definition, names)
        out[key] = definition
    return out
