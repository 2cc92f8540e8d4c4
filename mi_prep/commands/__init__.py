"""CLI subcommands that register themselves with `mi_prep.cli` (handlers take (args, app))."""
