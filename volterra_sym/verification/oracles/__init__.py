"""Independent routes used by the claims; none of them calls the engine they check."""
