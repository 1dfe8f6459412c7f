"""The monorepo's configuration (conveyor.toml, pipelines/*.toml) and the hook's cached plan.

Kept empty: the hook imports conveyor.config.plan_cache on every push.
"""
