"""The AU catalogue `resources/facs/action_units.csv`: numbers, FACS names, the plain-English
aliases LLMs use, face regions, and which AUs cannot be scored together.

Intensities use the FACS letters A (trace) … E (maximum), see `INTENSITY_LETTERS`.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from blendtalk.paths import resource

CATALOGUE_CSV = resource("resources/facs/action_units.csv")
INTENSITY_LETTERS = "ABCDE"
REGIONS = ("brows", "eyes", "cheeks", "nose", "mouth", "jaw", "gaze")
_COLUMNS = ["au", "name", "aliases", "region", "incompatible_with"]
_SPACE = re.compile(r"[\s_\-]+")


def normalise_alias(name: str) -> str:
    """Lower-case, hyphens/underscores as spaces, whitespace collapsed: the alias lookup key."""
    return _SPACE.sub(" ", name.strip().lower()).strip()


@dataclass(frozen=True)
class ActionUnit:
    au: int
    name: str
    aliases: tuple[str, ...]
    region: str
    incompatible_with: tuple[int, ...]


@dataclass(frozen=True)
class Catalogue:
    """The AU catalogue. `units` in file order; `alias_to_au` maps every normalised name and alias
    to its AU number; `incompatible` holds each unordered pair once as (smaller, larger)."""

    units: tuple[ActionUnit, ...]
    alias_to_au: dict[str, int]
    incompatible: frozenset[tuple[int, int]]
    source: Path

    @property
    def numbers(self) -> tuple[int, ...]:
        return tuple(u.au for u in self.units)

    @property
    def by_number(self) -> dict[int, ActionUnit]:
        return {u.au: u for u in self.units}

    def name(self, au: int) -> str:
        return self.by_number[au].name

    def lookup(self, name: str) -> int | None:
        """AU number for a FACS name or alias (any case/spacing), or None when unknown."""
        return self.alias_to_au.get(normalise_alias(name))

    def are_incompatible(self, a: int, b: int) -> bool:
        return (min(a, b), max(a, b)) in self.incompatible


def load_catalogue(path: str | os.PathLike = CATALOGUE_CSV) -> Catalogue:
    """Read and check the catalogue; errors name the file, line and column."""
    return _load(Path(path).resolve())


@lru_cache(maxsize=4)
def _load(path: Path) -> Catalogue:
    units: list[ActionUnit] = []
    alias_to_au: dict[str, int] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != _COLUMNS:
            raise ValueError(f"{path}: header must be {','.join(_COLUMNS)}, got {reader.fieldnames}")
        for line, rec in enumerate(reader, start=2):
            where = f"{path}:{line}"
            try:
                au = int(rec["au"])
                incompatible = tuple(int(x) for x in rec["incompatible_with"].split(";") if x.strip())
            except ValueError as err:
                raise ValueError(f"{where}: 'au'/'incompatible_with' must be integers ({err})") from None
            if rec["region"] not in REGIONS:
                raise ValueError(f"{where}: region {rec['region']!r} not in {REGIONS}")
            aliases = tuple(normalise_alias(a) for a in rec["aliases"].split(";") if a.strip())
            for key in (normalise_alias(rec["name"]), *aliases):
                if alias_to_au.setdefault(key, au) != au:
                    raise ValueError(f"{where}: alias {key!r} already names AU {alias_to_au[key]}")
            units.append(ActionUnit(au, rec["name"].strip(), aliases, rec["region"], incompatible))
    numbers = {u.au for u in units}
    if len(numbers) != len(units):
        raise ValueError(f"{path}: duplicate AU numbers")
    pairs: set[tuple[int, int]] = set()
    for u in units:
        for other in u.incompatible_with:
            if other not in numbers:
                raise ValueError(f"{path}: AU {u.au} incompatible_with unknown AU {other}")
            pairs.add((min(u.au, other), max(u.au, other)))
    for a, b in pairs:  # the relation must be listed on both rows, so the file reads either way
        if b not in _units_of(units, a).incompatible_with or a not in _units_of(units, b).incompatible_with:
            raise ValueError(f"{path}: incompatibility {a} vs {b} must be listed on both rows")
    return Catalogue(tuple(units), alias_to_au, frozenset(pairs), path)


def _units_of(units: list[ActionUnit], au: int) -> ActionUnit:
    return next(u for u in units if u.au == au)
