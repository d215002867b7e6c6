"""Personal data: what never reaches the published file, and the keyed hash that
stands in for an e-mail address where one is needed as a key.

- e-mail, owner (a person) and any column a source marks `pii` are read for
  validation only and never stored;
- a lead list without lead_id is keyed by HMAC-SHA256(FUNNEL_PII_SALT, e-mail),
  and a deal without lead_id links to its lead through the same HMAC of its
  contact_email; without the secret such a file is refused;
- a value that looks like an e-mail address or a phone number is masked before
  it goes into a problem message, quarantine or the load errors;
- publishing scans every text column it is about to publish and refuses to
  replace the file if one still holds an address or a phone number.
"""

import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

SALT_ENV = "FUNNEL_PII_SALT"
KEY_PREFIX = "hmac:"
# RE2 and Python both accept these (DuckDB's regexp_matches uses RE2).
EMAIL_PATTERN = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
# Japanese and international phone numbers written with separators: 03-1234-5678,
# 090-1234-5678, (03) 1234-5678, +81 3 1234 5678, +81-90-1234-5678; standing alone, not
# inside a longer run of letters, digits and hyphens (a run id 1a2b-0123-4567-8901-...).
# RE2 has no look-around: the boundaries are matched as characters.
PHONE_PATTERN = (r"(^|[^0-9A-Za-z\-])((\+\d{1,3}[\s\-]?\(?\d{1,4}\)?[\s\-]?\d{1,4}[\s\-]\d{3,4})"
                 r"|(\(?0\d{1,4}\)?[\s\-]\d{1,4}[\s\-]\d{4}))($|[^0-9A-Za-z\-])")
# Every match of PHONE_PATTERN holds one of these (both alternatives need a [\s\-] separator;
# RE2's \s is [\t\n\f\r ]): the publish guard runs the pattern only on values holding one.
PHONE_SEPARATORS = ("-", " ", "\t", "\n", "\f", "\r")
_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(PHONE_PATTERN)


class MissingSalt(Exception):
    pass


def mask(value: str | None) -> str | None:
    """The value with e-mail addresses and phone numbers replaced by a placeholder."""
    if value is None:
        return None
    return _PHONE.sub(lambda m: m.group(1) + "<phone removed>" + m.group(m.lastindex),
                      _EMAIL.sub("<e-mail removed>", value))


def salt() -> bytes:
    secret = os.environ.get(SALT_ENV, "")
    if not secret:
        raise MissingSalt(
            f"its records would be keyed by e-mail address; that key is an HMAC-SHA256 of the address with the "
            f"secret {SALT_ENV}, which is not set. Set {SALT_ENV} to a long random secret (and keep it: changing "
            "it changes every such key), or export the tool's record id column")
    return secret.encode("utf-8")


def email_key(column: pa.ChunkedArray | pa.Array, secret: bytes) -> pa.Array:
    """HMAC-SHA256 of each normalised address (NFKC, trimmed, lower case) as 'hmac:<hex>';
    empty stays NULL. Computed over the distinct addresses only."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    keys = []
    for address in encoded.dictionary.to_pylist():
        norm = unicodedata.normalize("NFKC", address or "").strip().lower()
        keys.append(KEY_PREFIX + hmac.new(secret, norm.encode("utf-8"), hashlib.sha256).hexdigest() if norm else None)
    return pc.take(pa.array(keys, pa.string()), encoded.indices)


MAX_ROWS_NAMED = 20


def mask_columns(table: pa.Table, columns: list[str], id_columns: set[str],
                 secret: Callable[[], bytes]) -> tuple[pa.Table, dict[tuple[str, str], tuple[int, list[int]]]]:
    """The table with every e-mail address and phone number in `columns` masked (an e-mail that is a whole
    value of an id column becomes its keyed hash, email_key, with `secret()`), and per (column, kind) the
    rows it was found in: (count, the first MAX_ROWS_NAMED of `_source_row`)."""
    found: dict[tuple[str, str], tuple[int, list[int]]] = {}
    rows = table.column("_source_row")
    for name in columns:
        if name not in table.column_names:
            continue
        column = table.column(name)
        email = pc.fill_null(pc.match_substring(column, "@"), False)
        if pc.any(email).as_py():
            email = pc.and_(email, pc.fill_null(pc.match_substring_regex(column, EMAIL_PATTERN), False))
        phone = pc.and_(pc.invert(email), pc.fill_null(pc.match_substring_regex(column, PHONE_PATTERN), False))
        hit = pc.or_(email, phone)
        if not pc.any(hit).as_py():
            continue
        for kind, mask_ in (("e-mail", email), ("phone", phone)):
            at = rows.filter(mask_)
            if len(at):
                found[(name, kind)] = (len(at), at.slice(0, MAX_ROWS_NAMED).to_pylist())
        values = column.filter(hit).to_pylist()
        if name in id_columns and any(_EMAIL.fullmatch((v or "").strip()) for v in values):
            keyed = email_key(pa.array([(v or "").strip() for v in values]), secret()).to_pylist()
            values = [k if _EMAIL.fullmatch((v or "").strip()) else mask(v) for v, k in zip(values, keyed)]
        else:
            values = [mask(v) for v in values]
        replaced = pc.replace_with_mask(column.combine_chunks(), hit.combine_chunks(), pa.array(values, pa.string()))
        table = table.set_column(table.column_names.index(name), name, replaced)
    return table, found
