"""Measurement noise in the energy profile: several measured runs (seeds x repeats) as a distribution.

One measured run gives one energy per sample update; a rerun on a busy host gives another. The
lifecycle model scales that figure to millions of sample updates, so what it needs is the *mean*
energy per sample update, and what it does not know is how far the measured mean is from it. The
Monte Carlo therefore draws the mean, not single runs:

    log e_draw = mean(log e_i) + t(n - 1) x sqrt(S / n)      (jointly for the noisy fields)

with e_i the n measured runs' values, S the sample covariance of their logs, and t a Student t of
n - 1 degrees of freedom (a multivariate t draw of the mean). Why this and not resampling the runs:
resampling draws single runs (the spread of one measurement, not of the mean of n) and with n = 3
can only ever take three values. Why logs: an energy is positive and host load scales a window's
energy, so the noise is multiplicative; a draw on the log scale can never reach zero or below,
also with n = 2 where t has one degree of freedom (very wide, as two runs deserve). Why jointly: the
FL, CL and server figures of one run share that run's host load, so they move together; drawing
them apart would widen CL / FL beyond what was measured. The central profile is the geometric mean,
the median of that draw.

What n runs made back to back cannot show: the host's state they shared. On a shared VM the process's
own CPU seconds for the same work move with other jobs' load (experiments.bench_noise), so a second
invocation minutes later measures another level for all its runs, and a mean's interval from one
invocation is too narrow to be repeated. `HostNoise` adds that between-invocation spread, measured
separately (bench_noise, stated with its source), as a log-normal factor per draw: a level shared by
the energy fields (another for the time fields) and a part of each field's own (which alone moves CL / FL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as dataclass_field, fields, replace

import numpy as np

from simulator.lifecycle.profile import EnergyProfile

# The fields that vary between reruns (energy and time, measured); payload bytes are exact counts.
NOISY_FIELDS = (
    "fl_kwh_per_sample_update",
    "cl_kwh_per_sample_update",
    "server_kwh_per_silo_round",
    "fl_wall_s_per_sample_update",
    "cl_wall_s_per_sample_update",
)
PROFILE_STREAM = 23  # keeps the profile draws apart from the factor draws of the same seed
NO_NOISE = "none: one energy profile, so the intervals hold the factor ranges only"


MAX_LOG_DEVIATION = 30.0  # a factor of about 1e13


def draw_log_mean(values, count: int, rng):  # type: ignore[no-untyped-def]
    """`count` joint draws of the mean of positive measurements, on the log scale:
    exp(mean(log x) + T), T multivariate Student t with n - 1 degrees of freedom and scale S / n
    (S: the sample covariance of the logs). `values`: n measurements x k quantities (n >= 2, every
    value positive); returns count x k. The uncertainty of a mean of n reruns, never zero or below.
    """
    logs = np.log(np.asarray(values, dtype=float))
    n = logs.shape[0]
    if n < 2:
        raise ValueError("a mean's spread needs two or more measurements")
    deviations = logs - logs.mean(axis=0)
    # A normal draw with covariance S: w' deviations / sqrt(n - 1), w ~ N(0, I_n) (any rank of S,
    # also n <= k); / sqrt(n) for the mean; / sqrt(chi2(n - 1) / (n - 1)) makes it a t.
    normal = rng.standard_normal((count, n)) @ deviations / math.sqrt(n - 1) / math.sqrt(n)
    scale = np.sqrt(rng.chisquare(n - 1, size=count) / (n - 1))
    # t with one degree of freedom (n = 2) has tails that overflow exp(); no draw goes beyond a factor
    # e^MAX_LOG_DEVIATION of the geometric mean, which moves only the far tails, never a 95 % interval
    # of any plausible spread.
    deviation = np.clip(normal / scale[:, None], -MAX_LOG_DEVIATION, MAX_LOG_DEVIATION)
    return np.exp(logs.mean(axis=0) + deviation)


@dataclass(frozen=True)
class HostNoise:
    """Between-invocation noise of a measured profile on one host, as log-scale standard deviations
    (a coefficient of variation c is sqrt(log(1 + c^2)) on the log scale)."""

    energy_level_sd: float  # shared by FL, CL and server energy per unit of work in one invocation
    time_level_sd: float  # shared by FL and CL wall time per sample update
    own_sd: float  # each energy field's own part: CL / FL energy moves by sqrt(2) x this
    source: str  # where the figures were measured
    # Each wall-time field's own part (CL / FL wall time moves by sqrt(2) x this); None: as own_sd.
    time_own_sd: float | None = None

    def __post_init__(self) -> None:
        for name in ("energy_level_sd", "time_level_sd", "own_sd", "time_own_sd"):
            value = getattr(self, name)
            if value is None and name == "time_own_sd":
                continue
            if not (math.isfinite(value) and 0 <= value <= 3):
                raise ValueError(f"HostNoise.{name} = {value!r}: a log-scale standard deviation in [0, 3]")

    def factors(self, count: int, rng) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
        """Per noisy field, `count` multiplicative factors (median 1)."""
        energy = rng.normal(0.0, self.energy_level_sd, count)
        time = rng.normal(0.0, self.time_level_sd, count)
        return {name: np.exp(time + rng.normal(0.0, self.wall_own_sd, count)) if "wall_s" in name
                else np.exp(energy + rng.normal(0.0, self.own_sd, count))
                for name in NOISY_FIELDS}

    @property
    def wall_own_sd(self) -> float:
        return self.own_sd if self.time_own_sd is None else self.time_own_sd

    def text(self) -> str:
        return (f"times the between-invocation noise of this host (log-scale SD: energy level {self.energy_level_sd:.2g}, "
                f"time level {self.time_level_sd:.2g}, each energy field's own {self.own_sd:.2g}, "
                f"each time field's own {self.wall_own_sd:.2g}; {self.source})")


HOST_NOISE_STREAM = 29  # keeps the host-noise draws apart from the profile and factor draws


@dataclass(frozen=True)
class ProfileSamples:
    """The energy profiles of n measured runs of one scenario (different seeds, or repeats), and
    optionally the host's between-invocation noise that runs made back to back cannot show."""

    profiles: tuple[EnergyProfile, ...]
    host_noise: HostNoise | None = dataclass_field(default=None)

    def __post_init__(self) -> None:
        if not self.profiles:
            raise ValueError("ProfileSamples needs at least one energy profile")

    @property
    def count(self) -> int:
        return len(self.profiles)

    def _values(self, name: str) -> np.ndarray:
        return np.array([float(getattr(profile, name)) for profile in self.profiles])

    def _drawn_fields(self) -> list[str]:
        """Noisy fields that can be drawn on the log scale (all values positive) and do vary."""
        drawn = []
        for name in NOISY_FIELDS:
            values = self._values(name)
            if np.all(values > 0) and np.ptp(values) > 0:
                drawn.append(name)
        return drawn

    @property
    def has_noise(self) -> bool:
        """True when the draws vary the profile (two or more runs that differ, or host noise)."""
        return (self.count >= 2 and bool(self._drawn_fields())) or self.host_noise is not None

    @property
    def central(self) -> EnergyProfile:
        """Geometric mean of each drawn field (the median of the draw), arithmetic mean of the others."""
        if self.count == 1:
            return self.profiles[0]
        drawn = self._drawn_fields()
        values: dict[str, object] = {}
        for field in fields(EnergyProfile):
            if field.name == "energy_method":
                values[field.name] = ", ".join(sorted({part for profile in self.profiles
                                                       for part in profile.energy_method.split(", ")}))
            elif field.name == "source":
                values[field.name] = (f"{self.count} measured runs, geometric mean "
                                      f"({'; '.join(profile.source for profile in self.profiles)})")
            elif field.name in drawn:
                values[field.name] = float(np.exp(np.mean(np.log(self._values(field.name)))))
            elif any(getattr(profile, field.name) is None for profile in self.profiles):
                values[field.name] = None  # an optional figure (sample_bytes) some profiles do not state
            else:
                values[field.name] = float(np.mean(self._values(field.name)))
        return EnergyProfile(**values)  # type: ignore[arg-type]

    def draw(self, count: int, seed: int) -> EnergyProfile:
        """`count` joint draws of the mean profile (fields become arrays of `count` values); the
        central profile itself (scalars) where there is nothing to draw."""
        centre = self.central
        if not self.has_noise:
            return centre
        drawn = self._drawn_fields() if self.count >= 2 else []
        changed: dict[str, np.ndarray] = {}
        if drawn:
            rng = np.random.default_rng(np.random.SeedSequence([seed, PROFILE_STREAM]))
            values = np.column_stack([self._values(name) for name in drawn])  # n runs x k fields
            means = draw_log_mean(values, count, rng)
            changed = {name: means[:, index] for index, name in enumerate(drawn)}
        if self.host_noise is not None:
            rng = np.random.default_rng(np.random.SeedSequence([seed, HOST_NOISE_STREAM]))
            for name, factor in self.host_noise.factors(count, rng).items():
                changed[name] = changed.get(name, float(getattr(centre, name))) * factor
        return replace(centre, **changed)

    def description(self) -> str:
        """How the energy profile enters the intervals, for the result's text."""
        host = "" if self.host_noise is None else f", {self.host_noise.text()}"
        if self.count == 1:
            return NO_NOISE if self.host_noise is None else f"one measured run{host}"
        drawn = self._drawn_fields()
        if not drawn:
            return f"none: the {self.count} measured profiles are identical" if not host else (
                f"the {self.count} measured profiles are identical{host}")
        held = [name for name in NOISY_FIELDS if name not in drawn]
        note = f"; held at their mean (not all positive, or not varying): {', '.join(held)}" if held else ""
        return (
            f"drawn from {self.count} measured runs: the mean energy per sample update (FL, CL, server) and "
            f"time per sample update, jointly, as a multivariate Student t of {self.count - 1} degrees of freedom "
            f"on the log scale (geometric mean, sample covariance / n){note}{host}"
        )


def as_profile_samples(profile: EnergyProfile | ProfileSamples) -> ProfileSamples:
    return profile if isinstance(profile, ProfileSamples) else ProfileSamples((profile,))

