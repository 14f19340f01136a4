"""Alerts: rules over stream health and platform events (`rules`), kept current in ops.alerts by
a sensor (`sensors`) and shown as a check on raw/stream_health (`checks`)."""
