"""The inventory's entries as typed, validated records: sites, datasets, applications.

Each entry checks its own values (pydantic); references between entries (a dataset's site, an
application's datasets) and unique names are checked by the inventory store, which sees them all.
Names are data: an entry's name becomes a scenario's or silo's name in the plan, so it follows the
same rule (simulator/names.py: letters, digits, '-', '_', '.', at most 64 characters, not dots alone),
checked when the entry is added rather than when a plan is made of it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulator.errors import InputError
from simulator.scenario.schema import CountryCode, Name

STORAGE_KINDS = ("hdd", "ssd", "object")
APPLICATION_KINDS = ("analytics", "ml")
# A company's name is for people (spaces, '&', accents): any printable text of at most this many
# characters; it is shown escaped (rich markup, HTML), never used as a path.
MAX_COMPANY_NAME_LENGTH = 100


def check_company_name(value: object, where: str) -> str:
    """`[company] name`, or an InputError naming `where`: printable text of 1 to 100 characters."""
    if (not isinstance(value, str) or not 1 <= len(value) <= MAX_COMPANY_NAME_LENGTH or not value.isprintable()):
        raise InputError(f"{where}: [company] name must be printable text of 1 to {MAX_COMPANY_NAME_LENGTH} "
                         "characters (no control characters or line breaks)")
    return value


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(_Entry):
    """A data centre or silo: where data lives, and the grid and facility it runs on."""

    name: Name
    country: CountryCode  # ISO 3166 alpha-3, as CodeCarbon's bundled energy mix knows it
    region: str | None = None  # free text for people (e.g. "eu-west-3"); the grid is the country's
    pue: float = Field(ge=1.0, le=3.0)  # power usage effectiveness of the facility
    # hdd | ssd (block volumes) | object (object storage on HDD media): the lifecycle model's kinds.
    storage: Literal["hdd", "ssd", "object"] = "hdd"


class Dataset(_Entry):
    """Raw data kept at one site."""

    name: Name
    site: Name
    size_gb: float = Field(ge=0)  # stored now, GB (1e9 bytes)
    # Fraction added per month, compounded (the lifecycle model's convention): V(m) = size x (1 + g)^m.
    monthly_growth: float = Field(0.0, ge=0, le=10)
    retention_months: int = Field(12, ge=1)  # how long a copy of the data is kept


class Application(_Entry):
    """Something that reads datasets: an analytics workload or an ML model."""

    name: Name
    kind: Literal["analytics", "ml"]
    datasets: tuple[Name, ...] = Field(min_length=1)
    # analytics: how often the queries run (each run scans the datasets once).
    runs_per_month: float | None = Field(None, gt=0)
    # ml: model size, how often it is retrained, and the FL rounds of one training.
    model_size_mb: float | None = Field(None, gt=0)
    retrains_per_year: float | None = Field(None, ge=0)
    rounds: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _fields_of_kind(self) -> "Application":
        needed = {
            "analytics": ("runs_per_month",),
            "ml": ("model_size_mb", "retrains_per_year", "rounds"),
        }
        missing = [key for key in needed[self.kind] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"a {self.kind} application needs {', '.join(missing)}")
        other = [key for kind, keys in needed.items() if kind != self.kind for key in keys if getattr(self, key) is not None]
        if other:
            raise ValueError(f"{', '.join(other)} do not apply to a {self.kind} application")
        if len(set(self.datasets)) != len(self.datasets):
            raise ValueError("datasets are listed more than once")
        return self


class Central(_Entry):
    """Where the centralized alternative would copy the data: one of the sites."""

    site: Name


def validated(model: type[_Entry], raw: dict, where: str) -> _Entry:
    """An entry from raw values, or an `InputError` naming where it came from and the bad key."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise InputError(f"{where}: {_entry_problem(model, error)}") from None


def _entry_problem(model: type[_Entry], error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "entry"
    if first["type"] == "extra_forbidden":
        return f"unknown key '{key}'; allowed: {', '.join(model.model_fields)}"
    if first["type"] == "missing":
        return f"missing required key '{key}'"
    message = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    got_text = "" if isinstance(got, dict | list | tuple) or got is None else f" (got {got!r})"
    if not first["loc"]:
        return message
    return f"key '{key}': {message}{got_text}"
