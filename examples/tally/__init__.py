"""tally: a small meter-reading service, the non-trading example target of simwire.

Meters publish readings on a bus, an aggregator keeps running totals, a store writes both to
the database.  It is built only from ports (clock, ids, random, database), so simwire can run
it deterministically; ``target.py`` is the whole of its simwire glue (see docs/targets.md).
"""
