"""Swarm exploration (Groce et al., ISSTA 2012; TigerBeetle's VOPR): each seed its own fault mix.

A preset turns the same faults on in every seed, so an exploration of a preset only covers
that one combination; and some bugs need a site *off* (a fault that aborts a session early
hides a later race) as much as others need one on.  With ``--swarm`` each seed draws, from the
seed alone, which fault sites are on, each knob's value within the ranges the presets use
(the correct system stays clean under each of them), and the PCT depth.  The draw becomes an
explicit ``--faults`` plan (and ``--pct-depth``) in the spec, so the knobs line and the repro
of every run carry it: a swarm failure replays with plain ``simwire run``.
"""

from __future__ import annotations

import dataclasses
import random

from sim.harness.scenario import ScenarioSpec

# site -> knob -> (low, high): the largest values of the presets (db-flaky, db-lag,
# exchange-flaky), which the correct system survives in every mode; durations in ms.
RATES: dict[str, dict[str, float]] = {
    "db": {"error_rate": 0.05},
    "exchange": {"error_rate": 0.05, "rate_limit_rate": 0.03, "reject_rate": 0.05, "ack_loss_rate": 0.05},
    "stream": {"error_rate": 0.01},
}
DURATIONS_MS: dict[str, dict[str, int]] = {
    "db": {"latency_ms": 20, "lag_ms": 200},
    "exchange": {"latency_ms": 150, "lag_ms": 3000},
    "stream": {"latency_ms": 100},
}
LIVE_ONLY_SITES = ("exchange", "stream")
"""Sites nothing reaches outside live mode: drawing them elsewhere would only show in the repro."""
PCT_DEPTHS = (1, 2, 3, 4, 5)


def swarm_spec(base: ScenarioSpec) -> ScenarioSpec:
    """``base`` with the fault plan and PCT depth drawn from its seed (and nothing else)."""
    rng = random.Random(f"simwire-swarm:{base.seed}")  # str seeds hash with sha512: stable across processes
    items: list[str] = []
    for site in ("db", "exchange", "stream"):
        # every value is drawn whether used or not, so one site's use never shifts another's draws
        on = rng.random() < 0.5 and (site not in LIVE_ONLY_SITES or base.mode == "live")
        drawn = [(rng.random() < 0.5, f"{site}_{knob}={round(rng.uniform(0.001, high), 3):g}")
                 for knob, high in RATES[site].items()]
        for knob, high_ms in DURATIONS_MS[site].items():
            low = rng.randint(0, high_ms // 2)
            drawn.append((rng.random() < 0.5, f"{site}_{knob}={low}..{rng.randint(low, high_ms)}"))
        items += [item for use, item in drawn if on and use]
    depth = rng.choice(PCT_DEPTHS)
    return dataclasses.replace(base, faults=",".join(items) or "none",
                               pct_depth=depth if base.policy == "pct" else base.pct_depth)


def swarm(specs: list[ScenarioSpec]) -> list[ScenarioSpec]:
    return [swarm_spec(spec) for spec in specs]
