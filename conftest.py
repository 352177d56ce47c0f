pytest_plugins = ["sim.pytest_plugin"]
