"""`camcount serve`: a read-only HTTP API, a live page and a stream of crossings.

It reads the database as the least-privilege role `camcount_api` (migration 0040), serves the
exact counters of `rollup.counts_to_date()` (it never counts by itself), and answers repeated
reads from a short-lived cache so that many clients cost a handful of queries. Beside the
worker and the pipelines, it imports only the kernel `camcount`.
"""
