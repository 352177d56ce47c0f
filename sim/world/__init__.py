"""The simulated world a system runs in: seeded ports (clock, ids, random), the simulated
QuestDB, the simulated MEXC futures exchange, market data, and the fault plans that make
each of them misbehave.  Nothing here schedules tasks (that is ``sim.kernel``) or judges a
run (that is ``sim.harness``)."""
