"""Training objectives as per-image (value, weight) pairs: ``parsing`` (LGPN's
node, hierarchy, correlation and artifact terms) and ``classification``
(detection / attribution).
"""
