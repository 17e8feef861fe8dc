"""Each paper's standard training runs: one module per paper (``validation.runs.<paper>``), its run
configs and sizes per profile, executed through :mod:`validation.store`; checks and figures of a paper
draw their trained models from here."""
