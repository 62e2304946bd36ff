"""``pmfast.simulation``: joint scenario sets for simulation margin (simulation-margin.md).

Given tables, historical and filtered historical windows of a price history, Monte Carlo draws
from a covariance, and stress rows appended with ``+`` / :func:`concat`; each returns a
:class:`ScenarioSet`. How each is made: docs/simulation-scenarios.md.
"""
from pmfast.scenario_set import ScenarioSet, concat
from pmfast.simulation.covariance import Covariance, estimate_covariance
from pmfast.simulation.filtered import filtered_historical
from pmfast.simulation.given import given
from pmfast.simulation.historical import historical
from pmfast.simulation.monte_carlo import monte_carlo
from pmfast.simulation.margin import SimulationMargin, simulation_margin

__all__ = ["ScenarioSet", "concat", "given", "historical", "filtered_historical",
           "monte_carlo", "Covariance", "estimate_covariance", "simulation_margin",
           "SimulationMargin"]
