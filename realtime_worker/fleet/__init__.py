"""Fleet mode: many workers, the cameras' config in the database, each camera counted by exactly
one worker at a time (leases with fencing epochs), on Kubernetes or any set of machines.

`config` (the fleet config in the database), `leases` (who owns which camera), `fencing` (the
sink writes only rows counted under a lease that had not ended), `worker` (`worker run --fleet`),
`status` (what `camcount fleet status` shows), `cli` (`camcount cameras ...`, `camcount fleet ...`).
"""
