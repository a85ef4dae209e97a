"""Every use of CodeCarbon's non-public names, in one place (CodeCarbon 3.3, pinned in pyproject).

The rest of silocarbon calls CodeCarbon only through this module or its public API
(`OfflineEmissionsTracker`, `start_task`/`stop_task`). What is read here:

- a tracker's hardware list (`tracker._hardware`) and, on its objects, the CPU's TDP (`_tdp`), its
  measuring mode (`_mode`: `cpu_load` is the load model, `intel_rapl` & co. measure), its tracking mode
  (`_tracking_mode`) and thread count (`_cpu_count`), and the RAM object's power model
  (`total_power()`) and host memory (`machine_memory_GB`);
- the bundled grid tables: `codecarbon.input.DataSource`, `codecarbon.core.emissions.Emissions`,
  `codecarbon.core.units.Energy`, `codecarbon.external.geography.GeoMetadata`, and the package file
  `data/private_infra/global_energy_mix.json`;
- the column layout of CodeCarbon's own emissions.csv (`codecarbon.output_methods.emissions_data.EmissionsData`);
- how CodeCarbon learns the CPU's model name: `codecarbon.core.util.detect_cpu_model` calls py-cpuinfo's
  `cpuinfo.get_cpu_info()` and reads only its `brand_raw` (see `use_kernel_cpu_model`).

A name that has moved raises `CodeCarbonContractError` naming it; nothing here falls back to a guess
(a missing `_mode` must not turn into a `modelled` label, a missing `_tdp` not into 0 W idle power).
tests/test_codecarbon_contract.py runs each of these against the installed CodeCarbon.

CodeCarbon is imported inside the functions: importing it costs about 0.1 s, which processes that
only validate a scenario do not pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# CodeCarbon 3.3's CPU modes (codecarbon/external/hardware.py, core/resource_tracker.py).
LOAD_MODEL_MODE = "cpu_load"  # power from CPU load and TDP: the only mode where process tracking applies
MEASURING_CPU_MODES = frozenset({"intel_rapl", "windows_emi", "intel_power_gadget"})
# Machine mode, load model: CPU power = TDP x (0.1 + 0.9 x load^3), so TDP x 0.1 at load 0.
MACHINE_IDLE_LOAD_FACTOR = 0.1
ENERGY_MIX_FILE = Path("data") / "private_infra" / "global_energy_mix.json"
BYTES_PER_CODECARBON_GB = 1024**3  # CodeCarbon's B_TO_GB: its "GB" are GiB
WATTS_PER_KILOWATT = 1000.0


class CodeCarbonContractError(RuntimeError):
    """The installed CodeCarbon no longer has a name silocarbon relies on."""


def _require(owner: object, name: str, where: str):  # type: ignore[no-untyped-def]
    if not hasattr(owner, name):
        raise CodeCarbonContractError(
            f"CodeCarbon {codecarbon_version()}: {where} has no attribute '{name}' "
            "(silocarbon reads it; see simulator/probes/codecarbon_compat.py)"
        )
    return getattr(owner, name)


def codecarbon_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("codecarbon")
    except PackageNotFoundError:
        return "(not installed)"


# -- the CPU's model name ----------------------------------------------------------------------------

PROC_CPUINFO = Path("/proc/cpuinfo")


def kernel_cpu_model(cpuinfo_path: Path = PROC_CPUINFO) -> str | None:
    """The CPU's model name as the Linux kernel reports it (on x86 the CPUID brand string, which is
    what py-cpuinfo's `brand_raw` holds there); None where there is no such line (other systems, most ARM)."""
    try:
        text = cpuinfo_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return None


def use_kernel_cpu_model() -> str | None:
    """Let CodeCarbon read the CPU's model name from the kernel in this process, where the kernel
    gives one (returned; None: CodeCarbon asks py-cpuinfo as usual).

    Why: CodeCarbon's first start asks py-cpuinfo, which starts a Python subprocess that starts another
    to run CPUID, about 1.2 s of CPU for one string: a third of a whole default run's CPU, and once
    more in every deployed silo's worker. CodeCarbon reads only `brand_raw` from it (the key its CPU
    power table is matched on), so that is all the replacement answers;
    tests/test_codecarbon_contract.py checks it equals py-cpuinfo's own answer on the test host."""
    model = kernel_cpu_model()
    if model is None:
        return None
    import cpuinfo

    def get_cpu_info() -> dict[str, str]:
        return {"brand_raw": model}

    get_cpu_info.silocarbon_kernel_model = True  # type: ignore[attr-defined]
    cpuinfo.get_cpu_info = get_cpu_info
    return model


# -- trackers -----------------------------------------------------------------------------------


def offline_tracker(country: str, tracking_mode: str = "machine"):  # type: ignore[no-untyped-def]
    """A quiet `OfflineEmissionsTracker` for task windows: explicit country, no output files (we write
    our own ledger and emissions.csv), several instances allowed on one host (ray, tests); the CPU's
    model name from the kernel where it has one (`use_kernel_cpu_model`)."""
    from codecarbon import OfflineEmissionsTracker

    import cpuinfo

    if not getattr(cpuinfo.get_cpu_info, "silocarbon_kernel_model", False):
        use_kernel_cpu_model()
    return OfflineEmissionsTracker(
        country_iso_code=country,
        output_methods=[],
        log_level="error",
        allow_multiple_runs=True,
        tracking_mode=tracking_mode,
    )


def _hardware(tracker) -> list:  # type: ignore[no-untyped-def]
    # Public: detects the hardware on first use (what a first task window would do).
    tracker.get_detected_hardware()
    hardware = _require(tracker, "_hardware", "OfflineEmissionsTracker")
    if not isinstance(hardware, list) or not hardware:
        raise CodeCarbonContractError(f"CodeCarbon {codecarbon_version()}: tracker._hardware is not a list of devices")
    return hardware


def _of_kind(tracker, kind: str) -> list:  # type: ignore[no-untyped-def]
    return [device for device in _hardware(tracker) if type(device).__name__ == kind]


@dataclass(frozen=True)
class CpuModel:
    """How CodeCarbon obtains this host's CPU power."""

    mode: str  # cpu_load | intel_rapl | windows_emi | intel_power_gadget | constant | apple_powermetrics | ...
    tdp_w: float | None  # the TDP CodeCarbon uses (None where it measures a chip without one)
    threads: int  # CodeCarbon's thread count (its process mode divides the TDP by it)
    tracking_mode: str  # machine | process

    @property
    def measures(self) -> bool:
        """CodeCarbon reads an energy counter or power meter (RAPL & co.) rather than modelling."""
        return self.mode in MEASURING_CPU_MODES or self.mode == "apple_powermetrics"

    @property
    def load_model(self) -> bool:
        """CodeCarbon's load model, the only mode whose process tracking counts the process's CPU time."""
        return self.mode == LOAD_MODEL_MODE

    @property
    def watts_per_busy_thread(self) -> float:
        """CodeCarbon's process mode, load model: power = TDP x (process CPU s / wall s) / threads,
        so each CPU second of the process costs TDP / threads joules."""
        if not self.load_model or self.tdp_w is None:
            raise CodeCarbonContractError(f"CPU mode '{self.mode}' has no per-thread power (not the load model)")
        return self.tdp_w / self.threads


def cpu_model(tracker) -> CpuModel:  # type: ignore[no-untyped-def]
    """The CPU model of a tracker, from its CPU object; Apple and Raspberry chips measure."""
    cpus = _of_kind(tracker, "CPU")
    if cpus:
        cpu = cpus[0]
        tdp = _require(cpu, "_tdp", "CPU")
        return CpuModel(
            mode=str(_require(cpu, "_mode", "CPU")),
            tdp_w=None if tdp is None else float(tdp),
            threads=int(_require(cpu, "_cpu_count", "CPU")),
            tracking_mode=str(_require(cpu, "_tracking_mode", "CPU")),
        )
    chips = [d for d in _hardware(tracker) if type(d).__name__ in ("AppleSiliconChip", "Raspberry")]
    if any(getattr(chip, "chip_part", None) == "CPU" for chip in chips):
        return CpuModel("apple_powermetrics", None, _cpu_count(), str(_require(tracker, "_tracking_mode", "tracker")))
    raise CodeCarbonContractError(f"CodeCarbon {codecarbon_version()}: no CPU among tracker._hardware")


def _cpu_count() -> int:
    from codecarbon.core.util import count_cpus

    return int(count_cpus())


def ram_power_w(tracker) -> float:
    """The RAM power CodeCarbon's model gives this tracker (machine mode: the host's memory), W."""
    rams = _of_kind(tracker, "RAM")
    if not rams:
        raise CodeCarbonContractError(f"CodeCarbon {codecarbon_version()}: no RAM among tracker._hardware")
    power = _require(rams[0], "total_power", "RAM")()
    return float(_require(power, "kW", "Power")) * WATTS_PER_KILOWATT


def host_memory_bytes(tracker) -> float:
    """The memory CodeCarbon's RAM model counts for this host (the SLURM allocation under SLURM), bytes."""
    rams = _of_kind(tracker, "RAM")
    if not rams:
        raise CodeCarbonContractError(f"CodeCarbon {codecarbon_version()}: no RAM among tracker._hardware")
    return float(_require(rams[0], "machine_memory_GB", "RAM")) * BYTES_PER_CODECARBON_GB


def has_gpu(tracker) -> bool:
    return bool(_of_kind(tracker, "GPU"))


def idle_power_w(tracker) -> tuple[float, float]:
    """(CPU, RAM) power in W that CodeCarbon's machine-mode model gives this host at zero load.

    Load model: CPU = TDP x (0.1 + 0.9 x load^3), so TDP x 0.1 at load 0; RAM: its model of the
    installed memory. Refused where CodeCarbon has no TDP for the CPU (a chip it only measures).
    """
    model = cpu_model(tracker)
    if model.tdp_w is None:
        raise CodeCarbonContractError(f"CPU mode '{model.mode}' has no TDP, so no modelled idle power")
    return model.tdp_w * MACHINE_IDLE_LOAD_FACTOR, ram_power_w(tracker)


# -- output layout --------------------------------------------------------------------------------


def emissions_csv_columns() -> list[str]:
    """The columns of CodeCarbon's emissions.csv, in its order (the fields of its EmissionsData)."""
    import dataclasses

    from codecarbon.output_methods.emissions_data import EmissionsData

    return [field.name for field in dataclasses.fields(EmissionsData)]


# -- bundled grid tables ------------------------------------------------------------------------


def energy_mix_file() -> Path:
    """CodeCarbon's bundled per-country energy mix, located without importing codecarbon."""
    from importlib.util import find_spec

    spec = find_spec("codecarbon")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("codecarbon is not installed; it provides the carbon intensity table")
    path = Path(list(spec.submodule_search_locations)[0]) / ENERGY_MIX_FILE
    if not path.is_file():
        raise CodeCarbonContractError(f"CodeCarbon {codecarbon_version()}: no bundled file {ENERGY_MIX_FILE}")
    return path


def region_names(country: str) -> frozenset[str]:
    """Region names CodeCarbon bundles for a country (US states: eGRID; Canadian provinces), lower case."""
    from codecarbon.input import DataSource

    source = DataSource()
    if country.upper() == "USA":
        table = _require(source, "get_country_emissions_data", "DataSource")("usa")
    else:
        table = _require(source, "get_country_energy_mix_data", "DataSource")(country.lower())
    return frozenset(name for name in table if not name.startswith("_"))


def region_kg_per_kwh(country: str, region: str) -> float:
    """CodeCarbon's own emissions, kg CO2e, for 1 kWh used in a region of a country."""
    from codecarbon.core.emissions import Emissions
    from codecarbon.core.units import Energy
    from codecarbon.external.geography import GeoMetadata
    from codecarbon.input import DataSource

    geo = GeoMetadata(country_iso_code=country.upper(), region=region)
    emissions = Emissions(DataSource())
    return float(_require(emissions, "get_private_infra_emissions", "Emissions")(Energy(kWh=1.0), geo))
