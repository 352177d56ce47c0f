"""Running and judging: the scenario spec and session driver, the oracles that judge a run,
exploration over seeds, shrinking, schedule files, determinism checks and the mutation
catalogue runner.  Everything here drives the kernel (``sim.kernel``) over the simulated
world (``sim.world``); the command line (``sim.cli``) only parses, calls and prints."""
