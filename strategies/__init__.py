"""Registry of aggregation strategies, built by name from a scenario's [strategy] section.

Each strategy is one small module that registers a `StrategySpec`; `build_strategy` checks the
parameters by name and type and builds a Flower Message-API strategy that samples every silo.
"""

from strategies.registry import StrategySpec, build_strategy, registered_strategies

__all__ = ["StrategySpec", "build_strategy", "registered_strategies"]
