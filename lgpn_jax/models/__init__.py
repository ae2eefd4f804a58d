"""Flax modules: backbones (GTC, ResNet-50), node heads, graph heads, LGPN and
the task classifier, plus BatchNorm folding and weight import.

``build.build_model(config.model)`` / ``build.build_classifier`` pick the parts
by name. Imports nothing else of the project.
"""
