"""The bundled GRPO trainer: curriculum shards in order -> TRL GRPOTrainer -> a new policy."""
