"""Rendering: Altair charts, offline bertviz HTML, highlighted text and chart files. Each returns a value;
nothing here displays anything."""
