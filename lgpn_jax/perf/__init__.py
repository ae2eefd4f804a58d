"""Performance analysis of traced programs: FLOP counts, the roofline floor and
profiler-trace summaries. Imports nothing else of the project.
"""
