"""Facts of the RED140 benchmark: its 55 nodes and 140 GMs, the folds, the
correlation graph and hierarchy, and the continuous-value normalisation.

numpy only; imports nothing else of the project. The label tables
(``gm_labels.csv``, ``nodes.csv``) sit beside these modules.
"""
