"""FACS action units → ARKit-52 blendshape tables.

`mapping` loads `resources/facs/au_to_arkit.csv` and defines the intensity scale and the
combination rule; `convert` turns many annotations into `(N, 52)` float32 weights at once;
`augment` adds optional seeded asymmetry and jitter; `table` builds the expressions table from
the descriptions and the corpus; `summary` and `plot` describe it.
"""
