"""The demo estates of fixtures/demo/: a typed builder, the three estates, and `python -m
tools.demo.build`, which writes their evidence bundles deterministically."""
