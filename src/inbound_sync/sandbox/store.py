"""The sandbox's SQLite database, and the seed format that fills it.

Tables: tenants (one API key each), assistants and strategies (owned by a tenant), mappings.
As in the vendor's system, an active number is unique across all tenants through a partial
unique index; a conflict surfaces as the IntegrityError of the insert, never as a pre-check.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from inbound_sync.phone import PhoneError, normalize

SERVICE = "exotel"
# Exotel is an Indian provider: numbers written without a country code are Indian.
REGION = "IN"

Clock = Callable[[], datetime]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    name TEXT PRIMARY KEY,
    api_key TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS assistants (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(name),
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS strategies (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(name),
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mappings (
    inbound_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(name),
    phone_number TEXT NOT NULL,
    phone_number_normalized TEXT NOT NULL,
    service TEXT NOT NULL,
    inbound_config TEXT NOT NULL,
    assistant_id TEXT,
    inbound_context_strategy_id TEXT,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS mappings_active_number
    ON mappings (phone_number_normalized) WHERE active = 1;
"""

_SELECT = """
SELECT m.*, a.name AS assistant_name, s.name AS inbound_context_strategy_name
FROM mappings AS m
LEFT JOIN assistants AS a ON a.id = m.assistant_id AND a.tenant = m.tenant
LEFT JOIN strategies AS s ON s.id = m.inbound_context_strategy_id AND s.tenant = m.tenant
"""

ASSISTANT_NOT_FOUND = "Assistant not found"
STRATEGY_NOT_FOUND = "Inbound context strategy not found"
MAPPING_NOT_FOUND = "Inbound mapping not found"
NUMBER_TAKEN = "Normalized inbound number is already assigned to an active mapping"
# The two nullable references a mapping has; update() changes only these columns.
REFERENCES = ("assistant_id", "inbound_context_strategy_id")


class StoreError(Exception):
    """A request the data refuses; the message is the one the API answers with."""


class NotFound(StoreError):
    """An assistant, strategy or mapping that the tenant does not own, or that does not exist."""


class Conflict(StoreError):
    """The normalized number is already held by an active mapping."""


class SeedError(ValueError):
    """A seed document that cannot be loaded; the message names the offending field."""


class InboundMapping(NamedTuple):
    """One row of `mappings`, with the names of its assistant and strategy resolved."""

    inbound_id: str
    tenant: str
    phone_number: str
    phone_number_normalized: str
    service: str
    inbound_config: dict[str, Any]
    assistant_id: str | None
    assistant_name: str | None
    inbound_context_strategy_id: str | None
    inbound_context_strategy_name: str | None
    active: bool
    created_at: str
    updated_at: str


class NewMapping(NamedTuple):
    """What an assign inserts: the number as submitted and its routing key."""

    phone_number: str
    phone_number_normalized: str
    inbound_config: dict[str, Any]
    assistant_id: str | None
    inbound_context_strategy_id: str | None
    inbound_id: str | None = None


class TenantSeed(NamedTuple):
    name: str
    api_key: str
    assistants: tuple[tuple[str, str], ...]
    strategies: tuple[tuple[str, str], ...]
    mappings: tuple[NewMapping, ...]


class Seed(NamedTuple):
    """A parsed seed document: tenants with their keys, assistants, strategies and mappings."""

    admin_token: str | None
    tenants: tuple[TenantSeed, ...]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with a Z, to the second, as the reference document shows."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """All reads and writes of the sandbox; safe to call from the server thread and tests alike."""

    def __init__(self, db: str | Path = ":memory:", *, clock: Clock = utc_now) -> None:
        # One connection shared by the server thread and direct callers, serialized by a lock.
        self._db = sqlite3.connect(str(db), check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._clock = clock
        with self._lock:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    def _now(self) -> str:
        return timestamp(self._clock())

    # -- tenants and seeds ------------------------------------------------------------------

    def is_empty(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM tenants LIMIT 1").fetchone() is None

    def clear(self) -> None:
        with self._transaction() as db:
            # Children first, for the foreign keys; the names are constants, never input.
            for table in ("mappings", "assistants", "strategies", "tenants"):
                db.execute(f"DELETE FROM {table}")

    def tenant_for_key(self, api_key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT name FROM tenants WHERE api_key = ?", (api_key,))
            found = row.fetchone()
        return None if found is None else str(found["name"])

    def api_keys(self) -> dict[str, str]:
        """Tenant name -> API key, for the banner of `sandbox serve`."""
        with self._lock:
            rows = self._db.execute("SELECT name, api_key FROM tenants ORDER BY name").fetchall()
        return {row["name"]: row["api_key"] for row in rows}

    def load(self, seed: Seed) -> None:
        """Add everything in `seed`, all or nothing; a clash with existing data is a SeedError."""
        with self._transaction() as db:
            for tenant in seed.tenants:
                self._load_tenant(db, tenant)

    def _load_tenant(self, db: sqlite3.Connection, tenant: TenantSeed) -> None:
        where = f"tenants.{tenant.name}"
        try:
            db.execute("INSERT INTO tenants VALUES (?, ?)", (tenant.name, tenant.api_key))
            db.executemany(
                "INSERT INTO assistants VALUES (?, ?, ?)",
                [(id_, tenant.name, name) for id_, name in tenant.assistants],
            )
            db.executemany(
                "INSERT INTO strategies VALUES (?, ?, ?)",
                [(id_, tenant.name, name) for id_, name in tenant.strategies],
            )
        except sqlite3.IntegrityError as exc:
            raise SeedError(f"{where}: clashes with existing data ({exc})") from None
        self._load_mappings(db, tenant)

    def _load_mappings(self, db: sqlite3.Connection, tenant: TenantSeed) -> None:
        """Insert a tenant's seed mappings in one statement (a large seed loads in seconds).

        The first mapping at fault is named, as inserting them one by one would: a foreign
        reference is checked once per distinct pair, and only the mappings before the first
        such one are inserted, so an earlier conflict is still the one reported.
        """
        where = f"tenants.{tenant.name}.mappings"
        bad, refused = self._first_foreign_reference(db, tenant)
        now, current = self._now(), -1

        def rows() -> Iterator[tuple[str | None, ...]]:
            nonlocal current
            for index, new in enumerate(tenant.mappings[:bad]):
                current = index
                yield _row(new.inbound_id or str(uuid.uuid4()), tenant.name, new, now)

        try:
            # executemany consumes rows() lazily, so `current` is the row that failed.
            db.executemany(_INSERT, rows())
        except sqlite3.IntegrityError as exc:
            raise SeedError(f"{where}[{current}]: {_integrity_message(exc)}") from None
        if refused is not None:
            raise SeedError(f"{where}[{bad}]: {refused}")

    def _first_foreign_reference(
        self, db: sqlite3.Connection, tenant: TenantSeed
    ) -> tuple[int | None, StoreError | None]:
        """The index of the first mapping naming an assistant or strategy the tenant lacks."""
        checked: set[tuple[str | None, str | None]] = set()
        for index, new in enumerate(tenant.mappings):
            refs = (new.assistant_id, new.inbound_context_strategy_id)
            if refs in checked:
                continue
            try:
                self._check_owned(db, tenant.name, *refs)
            except StoreError as exc:
                return index, exc
            checked.add(refs)
        return None, None

    # -- the API's operations -----------------------------------------------------------------

    def assign(self, tenant: str, new: NewMapping) -> InboundMapping:
        """Insert an active mapping (NotFound: foreign reference, Conflict: number taken)."""
        with self._transaction() as db:
            inbound_id = self._insert(db, tenant, new)
            return self._get(db, inbound_id)

    def _insert(self, db: sqlite3.Connection, tenant: str, new: NewMapping) -> str:
        self._check_owned(db, tenant, new.assistant_id, new.inbound_context_strategy_id)
        inbound_id = new.inbound_id or str(uuid.uuid4())
        try:
            db.execute(_INSERT, _row(inbound_id, tenant, new, self._now()))
        except sqlite3.IntegrityError as exc:
            if "phone_number_normalized" in str(exc):
                raise Conflict(NUMBER_TAKEN) from None
            raise
        return inbound_id

    def update(
        self, tenant: str, inbound_id: str, changes: Mapping[str, str | None]
    ) -> InboundMapping:
        """Change only the references present in `changes`; a None clears one."""
        with self._transaction() as db:
            self._require_active(db, tenant, inbound_id)
            self._check_owned(
                db,
                tenant,
                changes.get("assistant_id"),
                changes.get("inbound_context_strategy_id"),
            )
            self._set_references(db, inbound_id, changes)
            return self._get(db, inbound_id)

    def detach(self, tenant: str, inbound_id: str) -> InboundMapping:
        """Clear assistant and strategy; the mapping stays active and listed."""
        cleared = dict.fromkeys(REFERENCES)
        with self._transaction() as db:
            self._require_active(db, tenant, inbound_id)
            self._set_references(db, inbound_id, cleared)
            return self._get(db, inbound_id)

    def delete(self, tenant: str, inbound_id: str) -> None:
        """Mark inactive and clear the references, which releases the number for reuse."""
        with self._transaction() as db:
            self._require_active(db, tenant, inbound_id)
            db.execute(
                "UPDATE mappings SET active = 0, assistant_id = NULL,"
                " inbound_context_strategy_id = NULL, updated_at = ? WHERE inbound_id = ?",
                (self._now(), inbound_id),
            )

    def list_active(self, tenant: str) -> list[InboundMapping]:
        """The tenant's active mappings, oldest first (ties broken by id)."""
        query = _SELECT + " WHERE m.tenant = ? AND m.active = 1 ORDER BY m.created_at, m.inbound_id"
        with self._lock:
            return [_mapping(row) for row in self._db.execute(query, (tenant,))]

    # -- what the admin endpoints do behind the API's back ---------------------------------

    def all_mappings(self) -> list[InboundMapping]:
        """Every mapping of every tenant, inactive ones included."""
        query = _SELECT + " ORDER BY m.created_at, m.inbound_id"
        with self._lock:
            return [_mapping(row) for row in self._db.execute(query)]

    def set_references(self, inbound_id: str, changes: Mapping[str, str | None]) -> InboundMapping:
        """An out-of-band edit of any mapping, without ownership checks (to demonstrate drift)."""
        with self._transaction() as db:
            self._get(db, inbound_id)
            self._set_references(db, inbound_id, changes)
            return self._get(db, inbound_id)

    def delete_assistant(self, assistant_id: str) -> int:
        """Remove an assistant, as its owner can in the console; returns the mappings using it.

        The contract says nothing more, so the mappings are left as they are: still listed with
        the id (its name no longer resolves), and assign or update with it answer 404.
        """
        with self._transaction() as db:
            found = db.execute("SELECT 1 FROM assistants WHERE id = ?", (assistant_id,)).fetchone()
            if found is None:
                raise NotFound(ASSISTANT_NOT_FOUND)
            using = db.execute(
                "SELECT COUNT(*) FROM mappings WHERE assistant_id = ? AND active = 1",
                (assistant_id,),
            ).fetchone()[0]
            db.execute("DELETE FROM assistants WHERE id = ?", (assistant_id,))
        return int(using)

    def delete_strategy(self, strategy_id: str) -> int:
        """Remove a strategy and detach it from every active mapping; returns how many."""
        with self._transaction() as db:
            found = db.execute("SELECT 1 FROM strategies WHERE id = ?", (strategy_id,)).fetchone()
            if found is None:
                raise NotFound(STRATEGY_NOT_FOUND)
            detached = db.execute(
                "UPDATE mappings SET inbound_context_strategy_id = NULL, updated_at = ?"
                " WHERE inbound_context_strategy_id = ? AND active = 1",
                (self._now(), strategy_id),
            ).rowcount
            db.execute("DELETE FROM strategies WHERE id = ?", (strategy_id,))
        return detached

    # -- helpers that run inside a transaction --------------------------------------------

    def _check_owned(
        self,
        db: sqlite3.Connection,
        tenant: str,
        assistant_id: str | None,
        strategy_id: str | None,
    ) -> None:
        if assistant_id is not None and not _owns(db, "assistants", tenant, assistant_id):
            raise NotFound(ASSISTANT_NOT_FOUND)
        if strategy_id is not None and not _owns(db, "strategies", tenant, strategy_id):
            raise NotFound(STRATEGY_NOT_FOUND)

    def _set_references(
        self, db: sqlite3.Connection, inbound_id: str, changes: Mapping[str, str | None]
    ) -> None:
        # Column names come from REFERENCES only; values are bound parameters.
        columns = [name for name in REFERENCES if name in changes]
        assignments = "".join(f"{name} = ?, " for name in columns)
        db.execute(
            f"UPDATE mappings SET {assignments}updated_at = ? WHERE inbound_id = ?",
            (*(changes[name] for name in columns), self._now(), inbound_id),
        )

    def _require_active(self, db: sqlite3.Connection, tenant: str, inbound_id: str) -> None:
        found = db.execute(
            "SELECT 1 FROM mappings WHERE inbound_id = ? AND tenant = ? AND active = 1",
            (inbound_id, tenant),
        ).fetchone()
        if found is None:
            raise NotFound(MAPPING_NOT_FOUND)

    def _get(self, db: sqlite3.Connection, inbound_id: str) -> InboundMapping:
        row = db.execute(_SELECT + " WHERE m.inbound_id = ?", (inbound_id,)).fetchone()
        if row is None:
            raise NotFound(MAPPING_NOT_FOUND)
        return _mapping(row)


_INSERT = (
    "INSERT INTO mappings (inbound_id, tenant, phone_number, phone_number_normalized, service,"
    " inbound_config, assistant_id, inbound_context_strategy_id, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _row(inbound_id: str, tenant: str, new: NewMapping, now: str) -> tuple[str | None, ...]:
    """The values of _INSERT for one new mapping."""
    return (
        inbound_id,
        tenant,
        new.phone_number,
        new.phone_number_normalized,
        SERVICE,
        json.dumps(new.inbound_config),
        new.assistant_id,
        new.inbound_context_strategy_id,
        now,
        now,
    )


def _integrity_message(exc: sqlite3.IntegrityError) -> str:
    """What a seed error says for a refused insert: the API's conflict message where it is one."""
    return NUMBER_TAKEN if "phone_number_normalized" in str(exc) else str(exc)


def _owns(db: sqlite3.Connection, table: str, tenant: str, id_: str) -> bool:
    query = f"SELECT 1 FROM {table} WHERE id = ? AND tenant = ?"
    return db.execute(query, (id_, tenant)).fetchone() is not None


def _mapping(row: sqlite3.Row) -> InboundMapping:
    return InboundMapping(
        inbound_id=row["inbound_id"],
        tenant=row["tenant"],
        phone_number=row["phone_number"],
        phone_number_normalized=row["phone_number_normalized"],
        service=row["service"],
        inbound_config=json.loads(row["inbound_config"]),
        assistant_id=row["assistant_id"],
        assistant_name=row["assistant_name"],
        inbound_context_strategy_id=row["inbound_context_strategy_id"],
        inbound_context_strategy_name=row["inbound_context_strategy_name"],
        active=bool(row["active"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# -- the seed format -------------------------------------------------------------------------


def read_seed(path: str | Path) -> Seed:
    """Parse a seed YAML file; every problem is a SeedError that names the file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SeedError(f"{path}: not valid YAML: {exc}") from None
    try:
        return parse_seed(data)
    except SeedError as exc:
        raise SeedError(f"{path}: {exc}") from None


def parse_seed(data: object) -> Seed:
    """Validate a seed document (a dict, as YAML or JSON gives it)."""
    doc = _object(data, "seed", {"admin_token", "tenants"})
    token = doc.get("admin_token")
    if token is not None:
        token = _text(token, "admin_token")
    tenants = _object(doc.get("tenants", {}), "tenants", None)
    return Seed(
        admin_token=token,
        tenants=tuple(_tenant(_text(name, "tenants"), body) for name, body in tenants.items()),
    )


def _tenant(name: str, data: object) -> TenantSeed:
    where = f"tenants.{name}"
    keys = {"api_key", "assistants", "strategies", "mappings"}
    body = _object(data, where, keys)
    mappings = body.get("mappings", [])
    if not isinstance(mappings, list):
        raise SeedError(f"{where}.mappings: must be a list")
    return TenantSeed(
        name=name,
        api_key=_text(body.get("api_key"), f"{where}.api_key"),
        assistants=_names(body.get("assistants", {}), f"{where}.assistants"),
        strategies=_names(body.get("strategies", {}), f"{where}.strategies"),
        mappings=tuple(_seed_mapping(m, f"{where}.mappings[{i}]") for i, m in enumerate(mappings)),
    )


def _seed_mapping(data: object, where: str) -> NewMapping:
    keys = {"phone_number", "assistant_id", "inbound_context_strategy_id", "inbound_id"}
    body = _object(data, where, keys)
    number = _text(body.get("phone_number"), f"{where}.phone_number")
    try:
        normalized = normalize(number, REGION, allow_unverified=True).normalized
    except PhoneError as exc:
        raise SeedError(f"{where}.phone_number: {exc}") from None
    return NewMapping(
        phone_number=number,
        phone_number_normalized=normalized,
        inbound_config={"type": SERVICE, "phone_number": number},
        assistant_id=_optional_text(body.get("assistant_id"), f"{where}.assistant_id"),
        inbound_context_strategy_id=_optional_text(
            body.get("inbound_context_strategy_id"), f"{where}.inbound_context_strategy_id"
        ),
        inbound_id=_optional_text(body.get("inbound_id"), f"{where}.inbound_id"),
    )


def _object(data: object, where: str, allowed: set[str] | None) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SeedError(f"{where}: must be a mapping")
    unknown = sorted(str(key) for key in data if allowed is not None and key not in allowed)
    if unknown:
        raise SeedError(f"{where}: unknown key {unknown[0]!r} (expected {sorted(allowed or ())})")
    return data


def _names(data: object, where: str) -> tuple[tuple[str, str], ...]:
    """An `id: name` mapping, as assistants and strategies are written."""
    body = _object(data, where, None)
    return tuple((_text(id_, where), _text(name, f"{where}.{id_}")) for id_, name in body.items())


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SeedError(f"{where}: must be a non-empty string")
    return value


def _optional_text(value: object, where: str) -> str | None:
    return None if value is None else _text(value, where)
