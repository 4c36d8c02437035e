"""The typed records every layer shares: model calls (`chat`), runs and generations (`runs`),
verdicts (`verdict`) and annotations (`annotation`). They import nothing of eibench above
`errors`, so that data, store, models, judges, cfsa and review can all use them."""
