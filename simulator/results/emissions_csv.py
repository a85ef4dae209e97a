"""The ledger in CodeCarbon's own `emissions.csv` column layout, so tools that read CodeCarbon
output read ours. One CodeCarbon row per ledger row; `project_name` holds approach/silo/phase."""

from __future__ import annotations

import csv
import io
import platform
from datetime import datetime, timezone

from simulator.country_intensity import country_intensity
from simulator.ledger import Ledger
from simulator.probes.codecarbon_compat import emissions_csv_columns
from simulator.units import JOULES_PER_KWH


def emissions_csv_text(ledger: Ledger, run_id: str, host: dict, versions: dict) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=emissions_csv_columns(), lineterminator="\n")
    writer.writeheader()
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for row in ledger.rows:
        duration = row.wall_s

        def power_w(energy_kwh: float | None) -> float | str:
            # Mean power over the window, W = kWh * 3.6e6 J/kWh / s; empty when absent.
            if energy_kwh is None or duration <= 0:
                return ""
            return energy_kwh * JOULES_PER_KWH / duration

        writer.writerow(
            {
                "timestamp": stamp,
                "project_name": f"{row.approach}/{row.silo}/{row.phase}",
                "run_id": run_id,
                "experiment_id": f"round-{row.round}",
                "duration": duration,
                "emissions": "" if row.co2_kg is None else row.co2_kg,
                "emissions_rate": "" if row.co2_kg is None or duration <= 0 else row.co2_kg / duration,
                "cpu_power": power_w(row.energy_cpu_kwh),
                "gpu_power": power_w(row.energy_gpu_kwh),
                "ram_power": power_w(row.energy_ram_kwh),
                "cpu_energy": _blank(row.energy_cpu_kwh),
                "gpu_energy": _blank(row.energy_gpu_kwh),
                "ram_energy": _blank(row.energy_ram_kwh),
                "energy_consumed": _blank(row.energy_kwh),
                "water_consumed": "",
                "country_name": country_intensity(row.country).country_name,
                "country_iso_code": row.country,
                "region": "",
                "cloud_provider": "",
                "cloud_region": "",
                "os": host.get("os", platform.platform()),
                "python_version": versions.get("python", ""),
                "codecarbon_version": versions.get("codecarbon", ""),
                "cpu_count": host.get("cpu_count_logical", ""),
                "cpu_model": host.get("cpu_model", ""),
                "gpu_count": len(host.get("gpus", [])),
                "gpu_model": ", ".join(host.get("gpus", [])),
                "longitude": "",
                "latitude": "",
                "ram_total_size": host.get("ram_total_gb", ""),
                "tracking_mode": "machine",
                "cpu_utilization_percent": "",
                "gpu_utilization_percent": "",
                "ram_utilization_percent": "",
                "ram_used_gb": "",
                "on_cloud": "N",
                "pue": 1.0,
                "wue": "",
            }
        )
    return buffer.getvalue()


def _blank(value: float | None) -> float | str:
    return "" if value is None else value
