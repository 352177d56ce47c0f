"""Did a speed-up change what the system does?  A digest of every run's behaviour, to compare.

    python bench/behaviour_digest.py [--seeds 0-9] [--modes backtest,paper,live] [--hours 2]
                                     [--out FILE] [--compare FILE]

For each mode and seed (asyncio kernel, fifo) it runs the default scenario and records the
summary counts, a SHA-256 of every bus event in publish order (topic and payload, ticks and
indicator updates included: more than the outputs digest, which keeps each topic's events
apart and ticks without their values) and the outputs digest of ``sim.harness.outputs``
(recorded events and the trading tables as the oracles read them).
A hot-path optimisation must leave all three unchanged for every seed: write the digests on
the old code with ``--out``, then ``--compare`` them on the new code (exit 1 on any
difference, naming the run and what differs).  Wall time plays no part.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping
from typing import Any
from unittest import mock

from sim.harness import session
from sim.harness.outputs import digest, output_items
from sim.harness.recorder import EventRecorder
from sim.harness.scenario import MODES, ScenarioSpec, run_scenario

COUNTS = ("ticks", "signals", "orders", "fills", "rejections", "positions_opened", "positions_closed",
          "realized_pnl", "fees", "rows", "signals_by_type", "steps")


class DigestingRecorder(EventRecorder):
    """The scenario's recorder, also hashing every published event as it is published (a
    handler may change a payload later; what was published is what counts)."""

    def __init__(self) -> None:
        super().__init__()
        self.digest = hashlib.sha256()

    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Any, ...]) -> None:
        self.digest.update(f"{topic}|{sorted(payload.items())!r}\n".encode())
        super().on_publish(topic, payload, subscribers)


def digest_run(spec: ScenarioSpec) -> dict[str, Any]:
    recorders: list[DigestingRecorder] = []

    def make() -> DigestingRecorder:
        recorders.append(DigestingRecorder())
        return recorders[-1]

    with mock.patch.object(session, "EventRecorder", make):
        result = run_scenario(spec, trace=False)
    return {"summary": {name: result.summary.get(name) for name in COUNTS},
            "events": recorders[0].digest.hexdigest(), "outputs": digest(output_items(result)),
            "violations": sorted({v.rule for v in result.violations})}


def seed_range(text: str) -> range:
    low, _, high = text.partition("-")
    try:
        return range(int(low), int(high or low) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes N or N-M, got {text!r}") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=seed_range, default=range(10))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--out", help="write the digests as JSON to this file")
    parser.add_argument("--compare", help="compare with digests written earlier by --out")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown or args.hours <= 0:
        parser.error(f"--modes takes {', '.join(MODES)} and --hours must be positive (got {args.modes}, {args.hours})")
    digests = {f"{mode}:{seed}": digest_run(ScenarioSpec(mode=mode, seed=seed, hours=args.hours))
               for mode in modes for seed in args.seeds}
    if args.out:
        with open(args.out, "w") as out:
            json.dump(digests, out, indent=1, sort_keys=True)
    if not args.compare:
        print(json.dumps(digests, indent=1, sort_keys=True))
        return 0
    try:
        with open(args.compare) as before_file:
            before = json.load(before_file)
    except (OSError, json.JSONDecodeError) as error:
        parser.error(f"--compare {args.compare}: {error}")
    differences = [f"{run}: {part} differs ({before[run][part]!r} -> {now[part]!r})"
                   for run, now in digests.items() if run in before
                   for part in ("summary", "events", "outputs", "violations") if before[run][part] != now[part]]
    missing = sorted(set(digests) - set(before))
    for line in differences:
        print(line)
    print(f"{len(digests) - len(missing)} runs compared, {len(differences)} differences"
          + (f"; not in {args.compare}: {', '.join(missing)}" if missing else ""))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
