# first line: 130
def _execute(config: RunConfig):
    # what joblib caches: a module-level function of the config alone
    with _PRECOMPUTED_LOCK:
        result = _PRECOMPUTED.pop(config, _MISSING)
    return config.execute() if result is _MISSING else result
