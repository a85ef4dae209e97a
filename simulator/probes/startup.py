"""Starting the process's host probe early: light to import, so the CLI can start CodeCarbon's slow
first start (hardware detection, about 1.5 s, mostly in child processes) before importing torch and
Flower, and the pipeline then takes the probe already warming up."""

from __future__ import annotations

from simulator.probes.energy import NullEnergyProbe, host_probe, install_host_probe
from simulator.probes.host_energy import HostEnergyProbe


def start_host_probe(probes_config):  # type: ignore[no-untyped-def]
    """The installed probe if it suits `[probes]` (energy on/off, host country); else a new one,
    warming up in the background and installed for this process."""
    installed = host_probe()
    if probes_config.energy and isinstance(installed, HostEnergyProbe) and installed.host_country == probes_config.host_country:
        return installed
    if not probes_config.energy and isinstance(installed, NullEnergyProbe):
        return installed
    probe = HostEnergyProbe(probes_config.host_country) if probes_config.energy else NullEnergyProbe()
    probe.warm_up()
    install_host_probe(probe)
    return probe
