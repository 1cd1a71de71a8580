"""The door: the command line (``usage.CommandLine``), the environment and the config file (``config_file.Config``) -> each command's own typed, frozen settings."""
