"""Benchmarks of the model and the trainer's step on device-resident inputs
(``suite.run``), printed by ``table.format_table``; ``benchmark.py`` is the
command line. No TensorFlow (except the optional pipeline section).
"""
