"""The door: docopt's dict + the environment + the config file -> each command's own typed, frozen settings."""
