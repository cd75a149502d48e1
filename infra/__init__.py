"""What talks to the product's own infrastructure: the database engine and queries (`db`,
`budget_store`), the Temporal connection, schedule and checks (`temporal`,
`temporal_checks`), `.env` files (`env_file`) and the trace exporter (`tracing`).

`core/` stays below it and free of I/O: rules, models, settings and the schema.
"""
