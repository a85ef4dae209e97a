"""The scenario: what a run is asked to do, validated before anything runs.

- `schema`: the typed, frozen sections of a scenario file and the checks of every value.
- `lifecycle`: the `[lifecycle]` section (how the product lives, where its data sits).
- `hardware`: hardware a silo stands for, resolved into powers with their sources.
- `query_spec`: the text syntax of one federated-analytics query.
- `load`: the one TOML reader, the bundled configs, `--set` overrides, validation.
- `messages`: a validation error as one line naming the key and the allowed values.
"""

from simulator.scenario.load import load_scenario, validate_scenario
from simulator.scenario.schema import Scenario

__all__ = ["Scenario", "load_scenario", "validate_scenario"]
