"""The integration tier: real servers (the Docker registry, the Marathon simulator, Slack and proxy
stand-ins), a browser, Ansible."""
