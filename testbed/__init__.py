"""Test bed for fleetrewind: the real Docker registry on loopback and the servers around it.

- ``registry_server.RegistryServer``: Debian's docker-registry (distribution 2.8.2) on 127.0.0.1.
- ``images.push_image`` / ``images.ImagePusher``: push images through the HTTP API v2.
- ``token_issuer.TokenIssuer``: Bearer token realm; ``tls.make_server_tls``: test CA and cert.
- ``proxy.RegistryProxy``: reverse proxy with pagination, latency, faults and request counts.
- ``slack_recorder.SlackRecorder``: records Slack webhook and Web API calls.
- ``hostile.HostileRegistry``: a registry that lies on purpose (downgrade links, endless pages,
  trickled answers, huge Retry-After, lying digests, odd JSON), one ``Behaviour`` per repository.
- ``fleet.populate`` / ``fleet.SAMPLE_FLEET``: a sample fleet of releases.
"""
