"""Agent-based tissue: off-lattice cells and diffusing exosome, oxygen and drug fields.

The same compiled rules as the compartment model act per cell (see :mod:`.engine`).
Units: micrometres, minutes; concentrations are amounts per cubic micrometre.
"""
