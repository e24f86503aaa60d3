"""CEL rules: engines behind one interface, rule files compiled once at start-up."""
