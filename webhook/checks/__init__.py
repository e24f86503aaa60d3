"""Python checks, one module per concern; each returns violations, never raises on bad data."""
