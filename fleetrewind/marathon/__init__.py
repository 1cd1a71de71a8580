"""The Marathon half: the client, pure app-definition helpers, app mapping, the fleet."""
