"""silocarbon: energy, CO2 and cost of cross-silo federated learning against centralized learning.

Importing this package switches off Flower's and Ray's usage reporting before either loads:
nothing this tool runs may try to reach outside the machine.
"""

import os

# setdefault: a user who explicitly opts in keeps their choice; the tool itself never opts in.
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("CODECARBON_LOG_LEVEL", "error")

__version__ = "0.1.0"
