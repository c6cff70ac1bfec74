"""Concrete fine-tuning providers. Only core/finetune/registry.py imports them."""
