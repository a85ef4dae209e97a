"""The enterprise inventory, kept in an embedded SQLite database (the standard library's sqlite3).

Every change is one transaction: a batch (an imported TOML file, or one `inventory add`) is checked
entry by entry and, at the first refusal, rolled back, so the database is either fully updated or
unchanged. SQLite enforces the same rules again (primary keys, foreign keys, CHECKs) as a backstop.

Default location: ./silocarbon_inventory.sqlite, or the SILOCARBON_INVENTORY environment variable;
every command takes --inventory PATH.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.errors import InputError
from simulator.scenario.load import read_toml
from simulator.planner.entries import Application, Central, Dataset, Site, check_company_name, validated

DEFAULT_INVENTORY = Path("silocarbon_inventory.sqlite")
INVENTORY_ENV = "SILOCARBON_INVENTORY"
SCHEMA_VERSION = 1
TOML_SECTIONS = ("company", "central", "sites", "datasets", "applications")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (
    name TEXT PRIMARY KEY,
    country TEXT NOT NULL,
    region TEXT,
    pue REAL NOT NULL CHECK (pue >= 1.0),
    storage TEXT NOT NULL CHECK (storage IN ('hdd', 'ssd', 'object'))
);
CREATE TABLE IF NOT EXISTS central (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    site TEXT NOT NULL REFERENCES sites(name)
);
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT PRIMARY KEY,
    site TEXT NOT NULL REFERENCES sites(name),
    size_gb REAL NOT NULL CHECK (size_gb >= 0),
    monthly_growth REAL NOT NULL CHECK (monthly_growth >= 0),
    retention_months INTEGER NOT NULL CHECK (retention_months >= 1)
);
CREATE TABLE IF NOT EXISTS applications (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('analytics', 'ml')),
    runs_per_month REAL CHECK (runs_per_month > 0),
    model_size_mb REAL CHECK (model_size_mb > 0),
    retrains_per_year REAL CHECK (retrains_per_year >= 0),
    rounds INTEGER CHECK (rounds >= 1)
);
CREATE TABLE IF NOT EXISTS application_datasets (
    application TEXT NOT NULL REFERENCES applications(name),
    dataset TEXT NOT NULL REFERENCES datasets(name),
    position INTEGER NOT NULL,
    PRIMARY KEY (application, dataset)
);
CREATE TABLE IF NOT EXISTS company (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class InventorySnapshot:
    """Everything in the inventory, read in one transaction."""

    company: str | None
    central: Central | None
    sites: tuple[Site, ...]
    datasets: tuple[Dataset, ...]
    applications: tuple[Application, ...]

    def site(self, name: str) -> Site:
        return next(site for site in self.sites if site.name == name)

    def dataset(self, name: str) -> Dataset:
        return next(dataset for dataset in self.datasets if dataset.name == name)


def inventory_path(option: Path | None) -> Path:
    """--inventory PATH, else $SILOCARBON_INVENTORY, else ./silocarbon_inventory.sqlite."""
    if option is not None:
        return option
    from_env = os.environ.get(INVENTORY_ENV)
    return Path(from_env) if from_env else DEFAULT_INVENTORY


class Inventory:
    """An open inventory database. Use as a context manager, or call `close()`."""

    def __init__(self, path: Path | str, *, must_exist: bool = False):
        self.path = Path(path)
        if must_exist and str(path) != ":memory:" and not self.path.is_file():
            raise InputError(
                f"inventory '{self.path}' does not exist; create it with "
                "'silocarbon inventory import FILE.toml' (or pass --inventory PATH)"
            )
        try:
            # isolation_level=None: transactions are opened and closed explicitly below.
            self._db = sqlite3.connect(str(path), isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as error:
            raise InputError(f"inventory '{self.path}' is not a silocarbon inventory database: {error}") from None

    def _check_version(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise InputError(f"inventory '{self.path}' has schema version {version}; this silocarbon reads {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Inventory":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- writing: one transaction per batch --------------------------------------------------
    @contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        self._db.execute(f"BEGIN {mode}")
        try:
            yield self._db
        except sqlite3.IntegrityError as error:
            self._db.execute("ROLLBACK")
            raise InputError(f"inventory '{self.path}': entry refused by the database: {error}") from None
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(self, entries: Sequence[Site | Dataset | Application | Central], company: str | None = None) -> None:
        """Add the entries in order, all or nothing."""
        with self._transaction() as db:
            if company is not None:
                db.execute("INSERT OR REPLACE INTO company (id, name) VALUES (1, ?)", (company,))
            for entry in entries:
                self._insert(db, entry)

    def _insert(self, db: sqlite3.Connection, entry: Site | Dataset | Application | Central) -> None:
        if isinstance(entry, Site):
            self._refuse_duplicate(db, "sites", "site", entry.name)
            db.execute(
                "INSERT INTO sites (name, country, region, pue, storage) VALUES (?, ?, ?, ?, ?)",
                (entry.name, entry.country, entry.region, entry.pue, entry.storage),
            )
        elif isinstance(entry, Dataset):
            self._refuse_duplicate(db, "datasets", "dataset", entry.name)
            self._require_site(db, entry.site, f"dataset '{entry.name}'")
            db.execute(
                "INSERT INTO datasets (name, site, size_gb, monthly_growth, retention_months) VALUES (?, ?, ?, ?, ?)",
                (entry.name, entry.site, entry.size_gb, entry.monthly_growth, entry.retention_months),
            )
        elif isinstance(entry, Application):
            self._refuse_duplicate(db, "applications", "application", entry.name)
            known = _names(db, "datasets")
            unknown = [name for name in entry.datasets if name not in known]
            if unknown:
                raise InputError(
                    f"application '{entry.name}': unknown dataset '{unknown[0]}'; known datasets: "
                    f"{', '.join(sorted(known)) or '(none)'}"
                )
            db.execute(
                "INSERT INTO applications (name, kind, runs_per_month, model_size_mb, retrains_per_year, rounds) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (entry.name, entry.kind, entry.runs_per_month, entry.model_size_mb, entry.retrains_per_year,
                 entry.rounds),
            )
            db.executemany(
                "INSERT INTO application_datasets (application, dataset, position) VALUES (?, ?, ?)",
                [(entry.name, dataset, position) for position, dataset in enumerate(entry.datasets)],
            )
        else:
            self._require_site(db, entry.site, "central")
            db.execute("INSERT OR REPLACE INTO central (id, site) VALUES (1, ?)", (entry.site,))

    @staticmethod
    def _refuse_duplicate(db: sqlite3.Connection, table: str, what: str, name: str) -> None:
        if name in _names(db, table):
            raise InputError(f"{what} '{name}' already exists in the inventory; names must be unique")

    @staticmethod
    def _require_site(db: sqlite3.Connection, site: str, where: str) -> None:
        known = _names(db, "sites")
        if site not in known:
            raise InputError(f"{where}: unknown site '{site}'; known sites: {', '.join(sorted(known)) or '(none)'}")

    def import_toml(self, path: Path) -> int:
        """Add everything in an inventory TOML file in one transaction; returns the entries added."""
        company, entries = read_inventory_toml(path)
        self.add(entries, company)
        return len(entries)

    # -- reading ------------------------------------------------------------------------------
    def snapshot(self) -> InventorySnapshot:
        """Every entry, checked again as it is read: the database is a file, and one written by an older
        version or by hand may hold what `add` refuses (InputError naming the table and row)."""
        where = f"inventory '{self.path}'"
        with self._transaction("DEFERRED") as db:
            company_row = db.execute("SELECT name FROM company WHERE id = 1").fetchone()
            central_row = db.execute("SELECT site FROM central WHERE id = 1").fetchone()
            sites = tuple(
                validated(Site, dict(zip(("name", "country", "region", "pue", "storage"), row)),
                          f"{where}, sites row {number}")
                for number, row in enumerate(db.execute(
                    "SELECT name, country, region, pue, storage FROM sites ORDER BY rowid"
                ), start=1)
            )
            datasets = tuple(
                validated(Dataset, dict(zip(("name", "site", "size_gb", "monthly_growth", "retention_months"), row)),
                          f"{where}, datasets row {number}")
                for number, row in enumerate(db.execute(
                    "SELECT name, site, size_gb, monthly_growth, retention_months FROM datasets ORDER BY rowid"
                ), start=1)
            )
            links: dict[str, list[str]] = {}
            for application, dataset in db.execute(
                "SELECT application, dataset FROM application_datasets ORDER BY application, position"
            ):
                links.setdefault(application, []).append(dataset)
            applications = tuple(
                validated(Application, {
                    key: value for key, value in (
                        ("name", row[0]), ("kind", row[1]), ("datasets", tuple(links.get(row[0], ()))),
                        ("runs_per_month", row[2]), ("model_size_mb", row[3]), ("retrains_per_year", row[4]),
                        ("rounds", row[5]),
                    ) if value is not None
                }, f"{where}, applications row {number}")
                for number, row in enumerate(db.execute(
                    "SELECT name, kind, runs_per_month, model_size_mb, retrains_per_year, rounds "
                    "FROM applications ORDER BY rowid"
                ), start=1)
            )
        return InventorySnapshot(
            company=check_company_name(company_row[0], where) if company_row else None,
            central=validated(Central, {"site": central_row[0]}, f"{where}, central") if central_row else None,
            sites=sites,  # type: ignore[arg-type]
            datasets=datasets,  # type: ignore[arg-type]
            applications=applications,  # type: ignore[arg-type]
        )


def _names(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[0] for row in db.execute(f"SELECT name FROM {table}")}  # table: one of ours, never input


def read_inventory_toml(path: Path) -> tuple[str | None, list[Site | Dataset | Application | Central]]:
    """The entries of an inventory file, validated one by one, in the order they must be added."""
    raw = read_toml(path, "inventory")
    unknown = [key for key in raw if key not in TOML_SECTIONS]
    if unknown:
        raise InputError(f"inventory file '{path}': unknown section '{unknown[0]}'; allowed: {', '.join(TOML_SECTIONS)}")
    company = _company_name(raw.get("company"), path)
    entries: list[Site | Dataset | Application | Central] = []
    for section, model in (("sites", Site), ("datasets", Dataset), ("applications", Application)):
        items = raw.get(section, [])
        if not isinstance(items, list):
            raise InputError(f"inventory file '{path}': '{section}' must be an array of tables ([[{section}]])")
        for index, item in enumerate(items):
            where = f"inventory file '{path}': {section}[{index}]" + (
                f" '{item['name']}'" if isinstance(item, dict) and "name" in item else ""
            )
            entries.append(validated(model, _as_dict(item, where), where))  # type: ignore[arg-type]
    if "central" in raw:
        where = f"inventory file '{path}': central"
        entries.append(validated(Central, _as_dict(raw["central"], where), where))  # type: ignore[arg-type]
    return company, entries


def _company_name(section: Any, path: Path) -> str | None:
    if section is None:
        return None
    if not isinstance(section, dict) or set(section) - {"name"} or not isinstance(section.get("name"), str):
        raise InputError(f"inventory file '{path}': [company] takes one key, name = \"...\"")
    return check_company_name(section["name"], f"inventory file '{path}'")


def _as_dict(item: Any, where: str) -> dict:
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected a table of keys")
    return item
