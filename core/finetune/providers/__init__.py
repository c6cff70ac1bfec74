"""Fine-tuning providers, one module each, all behind `core.finetune.provider`'s interface."""
