"""Raw: the worker's hypertables as external assets (`assets`), the sensors that observe them
(`sensors`), their checks (`checks`), and the job and schedule that run the checks."""
