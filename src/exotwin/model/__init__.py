"""The simulator: scenarios compiled from the evidence graph, solved in compartments or space.

What a user scripts with is exported here; module paths behind these names may change.
"""

from .ode.sbml import simulate_sbml, to_sbml, write_sbml
from .ode.solve import SimulationError, Trajectory, simulate, simulate_arm
from .rules.compiler import compile_arm
from .rules.library import Library, load_library
from .rules.rows import CompiledModel
from .scenario.load import ScenarioError, load_scenario, packaged_scenarios
from .scenario.outputs import write_outputs
from .scenario.run import ScenarioResult, run_scenario
from .scenario.schema import Scenario
from .tissue.run import TissueResult, run_tissue
from .uncertainty.cohort import load_spec, run_sweep
from .uncertainty.robust import Robustness, robustness
from .uncertainty.sensitivity import Indices, analyse

__all__ = [
    "CompiledModel",
    "Indices",
    "Library",
    "Robustness",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "SimulationError",
    "TissueResult",
    "Trajectory",
    "analyse",
    "compile_arm",
    "load_library",
    "load_scenario",
    "load_spec",
    "packaged_scenarios",
    "robustness",
    "run_scenario",
    "run_sweep",
    "run_tissue",
    "simulate",
    "simulate_arm",
    "simulate_sbml",
    "to_sbml",
    "write_outputs",
    "write_sbml",
]
