"""The `deployment` runner on Flower's Deployment Engine (SuperLink + one SuperNode per silo).

- `runner`: start the processes (or attach to a SuperLink elsewhere), submit the run, stop every PID.
- `processes`: the processes started, and their stop by PID.
- `follow`: follow the submitted run to its end through the SuperLink's Control API.
- `record`: deployment.json (wire bytes next to payload bytes, processes, pace).
- `byte_relay`: the byte-counting TCP relay between a silo's SuperNode and the SuperLink.
- `silo_worker`: the long-running ClientApp process of one silo.
- `certs`: TLS certificates and SuperNode keys (`silocarbon deploy certs`).
- `commands`: the exact commands for separate machines (`silocarbon deploy plan`).
"""
