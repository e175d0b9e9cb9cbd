"""Carrying staff edits across a rescan: old rows keep their place, number and staff columns."""

from __future__ import annotations

from dataclasses import replace

from camaudit.identity import Identity, identity, pair_up
from camaudit.reports.checklist.rows import STAFF_FIELDS, Checklist, Row


def _row_identity(row: Row) -> Identity:
    return identity(mac=row.mac, serial=row.serial, ip=row.ip)


def _has_identity(row: Row) -> bool:
    ident = _row_identity(row)
    return bool(ident.mac or ident.serial or ident.ip)


def _carry_over(old: Row, fresh: Row) -> Row:
    staff = {name: getattr(old, name) for name in STAFF_FIELDS}
    first = min(filter(None, (old.first_seen, fresh.first_seen)), default="")
    return replace(fresh, item=old.item, first_seen=first, **staff)


def _gone(old: Row) -> Row:
    if not _has_identity(old) or old.action.startswith("not seen since"):
        return old
    return replace(old, action=f"not seen since {old.last_seen or 'an earlier scan'}")


def merge(fresh: Checklist, old: Checklist) -> Checklist:
    """The fresh checklist with every staff edit from the old one kept.

    Old rows keep their place and item number; rows for devices no longer seen stay, marked
    "not seen since <date>"; new devices are appended at the end with new item numbers.
    """
    old_rows = [*old.rows, *old.verify]
    old_main_count = len(old.rows)
    fresh_rows = [*fresh.rows, *fresh.verify]
    fresh_main_count = len(fresh.rows)
    pairs = {
        new_i: old_i for old_i, new_i in pair_up(old_rows, fresh_rows, _row_identity, _row_identity)
    }
    old_to_new = {old_i: new_i for new_i, old_i in pairs.items()}
    next_item = max((r.item for r in old_rows if r.item is not None), default=0) + 1

    def in_main(new_i: int) -> bool:
        return new_i < fresh_main_count

    main: list[Row] = []
    verify: list[Row] = []
    for old_i, old_row in enumerate(old_rows):
        target = main if old_i < old_main_count else verify
        new_i = old_to_new.get(old_i)
        if new_i is None:
            target.append(_gone(old_row))
        elif in_main(new_i) == (old_i < old_main_count):
            target.append(_carry_over(old_row, fresh_rows[new_i]))
    for new_i, fresh_row in enumerate(fresh_rows):
        target = main if in_main(new_i) else verify
        partner = pairs.get(new_i)
        if partner is None:
            target.append(replace(fresh_row, item=next_item))
            next_item += 1
        elif in_main(new_i) != (partner < old_main_count):
            # Moved between lists (e.g. possible → confirmed): it goes to the end of its new list.
            target.append(_carry_over(old_rows[partner], fresh_row))
    return replace(fresh, rows=tuple(main), verify=tuple(verify))
