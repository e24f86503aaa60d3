"""The thin runtime: WIT semantics, host catalog, binding and backend resolution."""
