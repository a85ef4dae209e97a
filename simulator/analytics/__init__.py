"""Federated analytics: statistics computed inside the silos and merged by the server."""
