"""Concrete fine-tuning providers, one module each. Only core/finetune/registry.py imports them."""
