"""The `more` command line: serving and training subcommands under one entry point."""
