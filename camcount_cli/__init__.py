"""The shell: the `camcount` command and the demo. The top layer: it may import every package
below it (realtime_worker, camcount_pipelines, camcount) and nothing imports it."""
