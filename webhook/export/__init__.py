"""Exporting bindcheck\x27s checks for enforcement without the webhook."""
