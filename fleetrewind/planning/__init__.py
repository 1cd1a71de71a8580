"""The plan: from a request (environment, moment, rule, scope) to a typed plan, with its checks."""
