"""Unit conversions, each exact or a stated convention, defined once for the whole project.

Energy: 1 kWh = 1000 W x 3600 s = 3.6e6 J (exact). Data: decimal units, 1 GB = 1e9 bytes, as cloud
providers bill and as the factors' sources state them. Time: a month of 730 h is 8760 h / 12.
"""

from __future__ import annotations

JOULES_PER_KWH = 3.6e6  # exact: 1 kWh = 1000 W x 3600 s
KWH_PER_JOULE = 1 / JOULES_PER_KWH
JOULES_PER_MILLIJOULE = 1e-3  # NVML's energy counter counts mJ
WATTS_PER_MILLIWATT = 1e-3  # NVML's power reading is in mW
WATTS_PER_KILOWATT = 1000.0
WH_PER_KWH = 1000.0
SECONDS_PER_HOUR = 3600.0
HOURS_PER_MONTH = 730.0  # 8760 h / 12
GRAMS_PER_KILOGRAM = 1000.0
BYTES_PER_MB = 1e6
BYTES_PER_GB = 1e9
GB_PER_TB = 1000.0
