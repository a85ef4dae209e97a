"""Datasets (offline ones bundled by installed packages; online loaders for users) and partitioners."""

from simulator.data.federated import FederatedData, build_federated_data

__all__ = ["FederatedData", "build_federated_data"]
