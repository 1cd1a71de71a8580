"""The Docker registry half: the client, its authentication, the digest cache and the scan."""
