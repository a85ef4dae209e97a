"""Flower ServerApp and ClientApp, the instrumentation mod, the measured grid and the runners.

The same ServerApp and ClientApp code runs on every runner (inline, ray, deployment).
"""
