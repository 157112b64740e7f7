"""The model's one equation set (over a batch axis), its solvers, and SBML printed from it."""
