"""GPU check: the default scenario trained on CUDA, with NVML's energy counter read around it.

Needs a machine with an NVIDIA GPU, its driver, and a CUDA build of torch. Prints the GPU energy of
the whole run from `NvmlGpuProbe` (method `measured`, read from NVML's mJ counter or, on boards
without one, from sampled power), the ledger's GPU energy per approach, and exits 1 unless the
measured GPU energy is above zero.

    python -m experiments.gpu_check            # writes its run folder under results/gpu_check/
"""

from __future__ import annotations

import sys
from pathlib import Path

import simulator  # noqa: F401  (telemetry off before Flower or Ray load)
from simulator.scenario.load import load_scenario
from simulator.ledger import APPROACH_CL, APPROACH_FL
from simulator.pipeline import run_scenario
from simulator.probes.energy import METHOD_MEASURED
from simulator.probes.nvml import NvmlGpuProbe

RESULTS = Path("results") / "gpu_check"


def main(argv: list[str] | None = None) -> int:
    import argparse

    argparse.ArgumentParser(
        prog="python -m experiments.gpu_check", description=__doc__.split("\n")[0],
        epilog="No --seeds: a check that NVML reads the GPU's energy on this machine (exit 1 if it does not), "
               "not a measurement to compare.").parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print(f"gpu_check: torch {torch.__version__} sees no CUDA device; run this on a GPU machine "
              "with a CUDA build of torch", file=sys.stderr)
        return 1
    probe = NvmlGpuProbe()
    if not probe.available:
        print(f"gpu_check: NVML cannot read a GPU: {probe.absent_reason}", file=sys.stderr)
        return 1
    for device in probe.devices:
        print(f"GPU {device.index}: {device.name} ({device.source})")
    scenario = load_scenario(None, ["training.device=cuda", "name=gpu-check"])
    probe.begin("gpu-check")
    result = run_scenario(scenario, RESULTS)
    reading = probe.end("gpu-check")
    probe.close()

    for approach in (APPROACH_FL, APPROACH_CL):
        rows = result.ledger.select(approach=approach)
        parts = [row.energy_gpu_kwh for row in rows if row.energy_gpu_kwh is not None]
        total = f"{sum(parts):.6g} kWh over {len(parts)} of {len(rows)} rows" if parts else "absent"
        print(f"ledger GPU energy, {approach}: {total}")
    print(f"run folder: {result.run_dir}")
    print(f"NVML-measured GPU energy of the whole run: {reading.energy_gpu_kwh:.6g} kWh "
          f"({reading.energy_gpu_kwh * 3.6e6:.1f} J) over {reading.wall_s:.2f} s, method {reading.method}, "
          f"source {reading.source}")
    ok = reading.method == METHOD_MEASURED and reading.energy_gpu_kwh is not None and reading.energy_gpu_kwh > 0
    print("GPU check: PASS" if ok else "GPU check: FAIL (expected measured GPU energy above zero)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
