"""Vocabulary as data (installed as `converter.mappings`); see converter/vocabulary.py."""
