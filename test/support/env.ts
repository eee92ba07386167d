// Quiet, deterministic defaults for every test file; a suite sets the rest itself.
process.env.NODE_ENV ??= "test";
process.env.LOG_LEVEL ??= "warn";
process.env.METRICS ??= "false";
