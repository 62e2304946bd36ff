from pmfast.simulation.margin import SimulationMargin, simulation_margin  # noqa: F401
