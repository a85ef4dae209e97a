"""Facts that cross module boundaries as typed records, shared by the code that writes them and the
code that reads them back.

- `kinds`: the closed vocabularies (energy method, approach, phase, row status, run status) as
  `Literal` types; nothing of ours below it.
- `run`: the run level: `RoundRecord`, `FederationOutcome`, `RunSummary`, `Manifest`.
- `measurement`: `SiloMeasurement`, what a silo reports with every reply (a strict wire schema).

Import from the submodules: this package imports nothing, so a probe can use `kinds` without loading
the run records (which sit above the ledger).
"""
