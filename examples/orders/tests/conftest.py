pytest_plugins = ["observe.testing"]
