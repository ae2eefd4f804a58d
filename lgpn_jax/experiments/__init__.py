"""Every table of the paper and the rebuttal as one command.

  python -m lgpn_jax.experiments run --experiment=NAME --workdir=DIR --size=quick|full

An experiment (``catalog/<name>.py``, ``spec.Experiment``) is a set of
trained variants (config files of configs/ plus overrides), the evaluations
of their folds and a result table with the authors' reported numbers as
reference rows (``reported.py``). ``runner`` trains and evaluates every fold
of every variant into ``<workdir>/<variant>/fold<k>/``, skipping what is
finished, or prints a job array; ``results`` writes the table
(``<workdir>/tables/<name>.{md,csv,tex,json}``); ``plan`` estimates the
cost. The command line is ``__main__.py``; docs/EXPERIMENTS.md describes
every experiment.
"""
