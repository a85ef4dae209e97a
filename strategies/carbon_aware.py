"""Carbon-aware silo selection (ours): each round, train the silos on the cleanest grids.

Each round the `fraction_train` share of silos with the lowest grid carbon intensity trains; a
fairness floor makes every silo train at least once every `fairness_rounds` rounds, so no region's
data is left out. Intensity: the country's yearly value (CodeCarbon's bundled table, as the ledger
uses), or, with `intensity_trace`, an hourly trace read at the round's simulated time
(start_hour + (round - 1) * round_hours, wrapping around the trace's length).
Every silo still evaluates every round, so accuracy is measured on the whole test set.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, RecordDict
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from simulator.errors import InputError
from simulator.country_intensity import country_intensity
from strategies.registry import FederationFacts, StrategySpec, register
from strategies.sampling import sampling_arguments, train_sample_size
from strategies.state import StateError, StrategyState

TRACE_COLUMNS = ("hour", "country", "intensity_g_per_kwh")


# -- arithmetic (pure) ----------------------------------------------------------------------------
def choose_silos(intensity_g_per_kwh: Mapping[str, float], last_trained: Mapping[str, int], round_number: int,
                 count: int, fairness_rounds: int) -> list[str]:
    """Silos to train in `round_number`: every silo due under the fairness floor (not trained in the
    last `fairness_rounds - 1` rounds; never trained counts as round 0), then the cleanest others
    until `count` are chosen. Ties in intensity go by name. Returned cleanest first."""
    ranked = sorted(intensity_g_per_kwh, key=lambda silo: (intensity_g_per_kwh[silo], silo))
    chosen = [silo for silo in ranked if round_number - last_trained.get(silo, 0) >= fairness_rounds]
    for silo in ranked:
        if len(chosen) >= count:
            break
        if silo not in chosen:
            chosen.append(silo)
    return sorted(chosen, key=ranked.index)


def simulated_hour(round_number: int, start_hour: int, round_hours: float) -> int:
    return int(start_hour + (round_number - 1) * round_hours)


@dataclass(frozen=True)
class HourlyTrace:
    """Grid intensity per country and hour of a trace (gCO2e/kWh); hours wrap around its length."""

    by_country: Mapping[str, tuple[float, ...]]

    def at(self, country: str, hour: int) -> float:
        values = self.by_country[country]
        return values[hour % len(values)]


def read_hourly_trace(path: Path) -> HourlyTrace:
    """A CSV with columns hour,country,intensity_g_per_kwh (hours 0..H-1 for every country)."""
    if not path.is_file():
        raise InputError(f"key 'strategy.intensity_trace': file '{path}' does not exist")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != TRACE_COLUMNS:
            raise InputError(f"key 'strategy.intensity_trace': '{path}' must have the columns {','.join(TRACE_COLUMNS)}")
        hours: dict[str, dict[int, float]] = {}
        try:
            for row in reader:
                hours.setdefault(row["country"].upper(), {})[int(row["hour"])] = float(row["intensity_g_per_kwh"])
        except ValueError as error:
            raise InputError(f"key 'strategy.intensity_trace': '{path}' line {reader.line_num}: {error}") from None
    series = {}
    for country, values in hours.items():
        if sorted(values) != list(range(len(values))):
            raise InputError(f"key 'strategy.intensity_trace': '{path}' hours of {country} are not 0..{len(values) - 1}")
        series[country] = tuple(values[h] for h in range(len(values)))
    return HourlyTrace(series)


# -- strategy -------------------------------------------------------------------------------------
class CarbonAware(FedAvg):
    def __init__(self, silo_countries: Mapping[str, str], train_count: int, fairness_rounds: int,
                 trace: HourlyTrace | None, start_hour: int, round_hours: float, **sampling):
        super().__init__(**sampling)
        self.silo_countries = dict(silo_countries)
        self.train_count = train_count
        self.fairness_rounds = fairness_rounds
        self.trace = trace
        self.start_hour = start_hour
        self.round_hours = round_hours
        self.last_trained: dict[str, int] = {}
        self.chosen_by_round: dict[int, list[str]] = {}

    def export_state(self) -> StrategyState:
        """When each silo last trained, and who trained in which round (JSON keys are text)."""
        return StrategyState(values={
            "last_trained": dict(self.last_trained),
            "chosen_by_round": {str(r): list(silos) for r, silos in self.chosen_by_round.items()},
        })

    def import_state(self, state: StrategyState) -> None:
        last_trained, chosen = state.value("last_trained"), state.value("chosen_by_round")
        try:
            self.last_trained = {str(silo): int(r) for silo, r in last_trained.items()}
            self.chosen_by_round = {int(r): [str(silo) for silo in silos] for r, silos in chosen.items()}
        except (AttributeError, TypeError, ValueError) as error:
            raise StateError(f"carbon_aware state is malformed ({error})") from None

    def intensities(self, server_round: int) -> dict[str, float]:
        if self.trace is None:
            return {s: country_intensity(c).intensity_g_per_kwh for s, c in self.silo_countries.items()}
        hour = simulated_hour(server_round, self.start_hour, self.round_hours)
        return {s: self.trace.at(c, hour) for s, c in self.silo_countries.items()}

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
                        ) -> Iterable[Message]:
        chosen = choose_silos(self.intensities(server_round), self.last_trained, server_round, self.train_count,
                              self.fairness_rounds)
        self.chosen_by_round[server_round] = chosen
        for silo in chosen:
            self.last_trained[silo] = server_round
        # A node whose silo is not known yet (a runner that learns names from replies) trains too.
        nodes = [node for node in sorted(grid.get_node_ids()) if _silo_of(grid, node) in (*chosen, None)]
        config["server-round"] = server_round
        record = RecordDict({self.arrayrecord_key: arrays, self.configrecord_key: config})
        # One message per chosen node, all carrying the same record, as FedAvg builds its own.
        return [Message(content=record, message_type=MessageType.TRAIN, dst_node_id=node) for node in nodes]


@runtime_checkable
class SiloNamingGrid(Protocol):
    """A grid that knows which silo a node is (the measured grid does, once a runner or a reply says)."""

    def silo_of_node(self, node_id: int) -> str | None: ...


def _silo_of(grid: Grid, node_id: int) -> str | None:
    return grid.silo_of_node(node_id) if isinstance(grid, SiloNamingGrid) else None


def build_carbon_aware(num_silos: int, facts: FederationFacts, fraction_train: float = 0.5,
                       fairness_rounds: int = 3, intensity_trace: str = "", start_hour: int = 0,
                       round_hours: float = 1.0) -> CarbonAware:
    if fairness_rounds < 1:
        raise InputError(f"key 'strategy.fairness_rounds': must be at least 1, got {fairness_rounds}")
    if not facts.silos:
        raise InputError("key 'strategy.name': carbon_aware needs the scenario's silos and their countries")
    trace = read_hourly_trace(Path(intensity_trace).expanduser()) if intensity_trace else None
    countries = {silo.name: silo.country for silo in facts.silos}
    if trace is not None:
        missing = sorted(set(countries.values()) - set(trace.by_country))
        if missing:
            raise InputError(f"key 'strategy.intensity_trace': no hours for {', '.join(missing)}")
    return CarbonAware(countries, train_sample_size(num_silos, fraction_train), fairness_rounds, trace, start_hour,
                       round_hours, **sampling_arguments(num_silos, fraction_train))


SPEC = register(StrategySpec("carbon_aware", "Train the silos on the cleanest grids, each at least every k rounds "
                             "(ours)", build_carbon_aware, uses_facts=True))
