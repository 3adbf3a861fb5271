"""Perception: CNN encoders trained as image classifiers on simulator labels."""
