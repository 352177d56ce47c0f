"""Vocabulary shared by every part of simwire.  It imports nothing of ours, so the kernel
(``sim.kernel``) and the contract checks (``contracts``) can both report findings in one
type without depending on each other."""
