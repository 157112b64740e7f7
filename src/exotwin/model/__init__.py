"""The simulator: scenarios compiled from the evidence graph, solved in compartments or space.

What a user scripts with is exported here; module paths behind these names may change.
"""

from .cohort import load_spec, run_sweep
from .compiler import compile_arm
from .library import Library, load_library
from .outputs import write_outputs
from .robust import Robustness, robustness
from .rows import CompiledModel
from .run import ScenarioResult, run_scenario
from .sbml import simulate_sbml, to_sbml, write_sbml
from .scenario import ScenarioError, load_scenario, packaged_scenarios
from .schema import Scenario
from .sensitivity import Indices, analyse
from .solve import SimulationError, Trajectory, simulate, simulate_arm
from .tissue.run import TissueResult, run_tissue

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
