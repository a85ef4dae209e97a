"""Probes: windows around a piece of work that return one typed, frozen reading.

Each reading says how it was obtained (`measured`, `modelled`, `apportioned`, or `absent`); a
quantity that could not be read is `None`, never 0. Probes know nothing of the lifecycle model.
"""
